// Search as you type: a progressive enhancement of the search box. Without JavaScript the
// form works as it is. Suggestions come from /search/suggest as JSON and are inserted as
// text (never as HTML).
(function () {
  var input = document.querySelector('input[data-suggest]');
  if (!input || !window.fetch) return;
  var list = document.createElement('ul');
  list.className = 'suggestions';
  list.id = 'search-suggestions';
  list.hidden = true;
  input.setAttribute('aria-controls', list.id);
  input.setAttribute('aria-autocomplete', 'list');
  input.parentNode.insertBefore(list, input.nextSibling);
  var timer, last = '';
  input.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var q = input.value.trim();
      if (q === last) return;
      last = q;
      if (q.length < 2) { list.hidden = true; return; }
      var url = input.getAttribute('data-suggest');
      fetch(url + (url.indexOf('?') < 0 ? '?' : '&') + 'q=' + encodeURIComponent(q), { credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
        .then(function (data) {
          if (q !== last) return;
          list.textContent = '';
          (data.suggestions || []).forEach(function (s) {
            var li = document.createElement('li');
            var a = document.createElement('a');
            a.href = s.url;
            a.textContent = s.title;
            li.appendChild(a);
            list.appendChild(li);
          });
          list.hidden = list.children.length === 0;
        })
        .catch(function () { list.hidden = true; });
    }, 150);
  });
})();
