// Keyboard shortcuts for the labelling page: 1-9 pick a choice and submit, s skips.
// The page works without this file; it only saves a mouse trip.
(function () {
  "use strict";
  var buttons = {};
  document.querySelectorAll("button[data-key]").forEach(function (b) {
    buttons[b.getAttribute("data-key")] = b;
  });
  var sent = false;
  document.addEventListener("keydown", function (event) {
    if (sent || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" ||
      target.tagName === "SELECT" || target.isContentEditable);
    if (typing) return;
    var button = buttons[event.key.toLowerCase()];
    if (!button) return;
    event.preventDefault();
    sent = true;
    button.classList.add("pressed");
    button.click();
  });
})();
