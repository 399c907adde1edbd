// Fills in the figures a page of a large project showed as being computed: it asks for the
// page again now and then (the address in each section's data-computing, or this page's:
// a page shown in answer to a form has another address), and puts in each section that is
// ready. A section the admin is typing into is left alone; its note then offers a reload.
(function () {
  'use strict';
  var delay = 1500;
  var sections = function (root) {
    return Array.prototype.slice.call(root.querySelectorAll('[data-computing][id]'));
  };
  var edited = function (section) {
    if (section.contains(document.activeElement) && document.activeElement !== document.body) {
      return true;
    }
    return Array.prototype.some.call(section.querySelectorAll('input, textarea, select'), function (field) {
      if (field.type === 'checkbox' || field.type === 'radio') {
        return field.checked !== field.defaultChecked;
      }
      return field.value !== field.defaultValue;
    });
  };
  var offerReload = function (section) {
    var note = section.querySelector('.computing-note');
    if (note && !note.dataset.ready) {
      note.dataset.ready = 'yes';
      note.textContent = 'Ready: ';
      var link = document.createElement('a');
      link.href = section.getAttribute('data-computing') || '';
      link.textContent = 'reload the page to see it';
      note.appendChild(link);
      note.appendChild(document.createTextNode(' (what you typed here would be lost).'));
    }
  };
  var address = function () {
    var first = sections(document)[0];
    return (first && first.getAttribute('data-computing')) || location.href;
  };
  var poll = function () {
    var url = address();
    fetch(url, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.text();
      })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, 'text/html');
        var gone = false;
        sections(document).forEach(function (section) {
          var next = fresh.getElementById(section.id);
          if (next && next.hasAttribute('data-computing')) { return; }
          if (!next) {
            // The page is another one once its figures are ready (the report).
            gone = true;
          } else if (edited(section)) {
            offerReload(section);
            section.removeAttribute('data-computing');
          } else {
            section.replaceWith(document.importNode(next, true));
          }
        });
        if (gone) {
          location.assign(url);
          return;
        }
        var asOf = fresh.getElementById('figures-as-of');
        var here = document.getElementById('figures-as-of');
        if (asOf && here) { here.replaceWith(document.importNode(asOf, true)); }
        if (sections(document).length) { schedule(); }
      })
      .catch(function () { delay = Math.min(delay * 2, 30000); schedule(); });
  };
  var schedule = function () {
    delay = Math.min(delay * 1.5, 10000);
    setTimeout(poll, delay);
  };
  if (sections(document).length) { schedule(); }
})();
