// Pictures by drag and drop: a progressive enhancement of the upload forms. Without
// JavaScript the file inputs do the same.
// - A review's photo field (data-dropzone): files dropped on it join its file input.
// - A post's text (textarea[data-upload]): pictures dropped or pasted on it are uploaded at
//   once to /uploads, and the Markdown that shows them is put where the cursor is.
(function () {
  if (window.guyubUpload) return; // the script may be included by more than one form
  window.guyubUpload = true;

  function images(list) {
    return Array.prototype.filter.call(list || [], function (f) { return /^image\//.test(f.type); });
  }

  document.querySelectorAll('[data-dropzone]').forEach(function (zone) {
    var input = zone.querySelector('input[type=file]');
    if (!input || !window.DataTransfer) return;
    zone.addEventListener('dragover', function (e) { e.preventDefault(); zone.classList.add('dragging'); });
    zone.addEventListener('dragleave', function () { zone.classList.remove('dragging'); });
    zone.addEventListener('drop', function (e) {
      e.preventDefault();
      zone.classList.remove('dragging');
      var all = new DataTransfer();
      images(input.files).concat(images(e.dataTransfer.files)).forEach(function (f) { all.items.add(f); });
      input.files = all.files;
      input.dispatchEvent(new Event('change', { bubbles: true }));
    });
  });

  document.querySelectorAll('textarea[data-upload]').forEach(function (area) {
    var form = area.form;
    var token = form && form.querySelector('input[name=_csrf]');
    if (!token || !window.fetch || !window.FormData) return;
    function upload(files) {
      images(files).forEach(function (file) {
        var body = new FormData();
        body.append('file', file);
        var mark = '\n![…](' + file.name.replace(/[\[\]()]/g, '') + ')\n';
        insert(mark);
        fetch('/uploads', { method: 'POST', body: body, credentials: 'same-origin',
          headers: { 'X-CSRF-Token': token.value, 'Accept': 'application/json' } })
          .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
          .then(function (res) {
            var text = res.ok ? '\n' + res.j.markdown + '\n' : '';
            area.value = area.value.replace(mark, text);
            if (!res.ok) alert((res.j.error && ((res.j.error.fields && res.j.error.fields.file) || res.j.error.message)) || 'upload failed');
          })
          .catch(function () { area.value = area.value.replace(mark, ''); });
      });
    }
    function insert(text) {
      var at = area.selectionStart || area.value.length;
      area.value = area.value.slice(0, at) + text + area.value.slice(at);
    }
    area.addEventListener('dragover', function (e) { if (images(e.dataTransfer.files).length || e.dataTransfer.types.indexOf('Files') >= 0) e.preventDefault(); });
    area.addEventListener('drop', function (e) {
      if (!images(e.dataTransfer.files).length) return;
      e.preventDefault();
      upload(e.dataTransfer.files);
    });
    area.addEventListener('paste', function (e) {
      var files = e.clipboardData && images(e.clipboardData.files);
      if (files && files.length) { e.preventDefault(); upload(files); }
    });
  });
})();
