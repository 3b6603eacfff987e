// Filters apply as they change: a progressive enhancement of GET filter forms marked
// data-autosubmit. Without JavaScript the form's button does it; with it, a button marked
// data-nojs is hidden (forms with a text field keep theirs: Enter still submits there).
(function () {
  document.querySelectorAll('form[data-autosubmit]').forEach(function (form) {
    form.querySelectorAll('[data-nojs]').forEach(function (b) { b.hidden = true; });
    form.addEventListener('change', function (e) {
      var t = e.target;
      if (t.type === 'text' || t.type === 'search' || t.tagName === 'TEXTAREA') return;
      if (t.multiple) return; // a multiple choice is made in several clicks: the button applies it
      form.requestSubmit ? form.requestSubmit() : form.submit();
    });
  });
})();
