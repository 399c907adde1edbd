// Keyboard shortcuts for the labelling pages. The pages work without this file; it only
// saves mouse trips. Keys:
//   1-9        pick a choice (and save), tick a label, pick a rating; in spans and boxes
//              the kind's own module uses them to name marks
//   Enter      save (multiple choice, ratings, numbers, text, spans, boxes)
//   s          open the skip reasons, then a digit picks one (Escape closes them)
//   u, Backspace  go back to your last answer to change it
//   ?          show the keys
(function () {
  "use strict";
  var form = document.getElementById("label-form");
  var kind = form ? form.getAttribute("data-kind") : null;
  var skip = document.getElementById("skip-choice");
  var help = document.getElementById("keys-help");
  var undo = document.getElementById("undo");
  var sent = false;

  function typing(target) {
    return target && (target.tagName === "INPUT" && target.type !== "checkbox" && target.type !== "radio" ||
      target.tagName === "TEXTAREA" || target.tagName === "SELECT" || target.isContentEditable);
  }

  function press(element) {
    element.classList.add("pressed");
    if (element.tagName === "BUTTON" && element.type === "submit") sent = true;
    element.click();
  }

  function digitTarget(key) {
    if (skip && skip.open) return skip.querySelector('[data-skip-key="' + key + '"]');
    if (!form || kind === "spans" || kind === "boxes") return null;
    return form.querySelector('[data-key="' + key + '"]');
  }

  function save() {
    if (!form || sent) return;
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit();
    } else {
      form.submit();
    }
  }

  document.addEventListener("keydown", function (event) {
    if (sent || event.ctrlKey || event.metaKey || event.altKey) {
      if ((event.ctrlKey || event.metaKey) && event.key === "Enter" && event.target.tagName === "TEXTAREA") {
        event.preventDefault();
        save();
      }
      return;
    }
    var key = event.key;
    if (key === "Escape" && skip && skip.open) {
      skip.open = false;
      return;
    }
    if (typing(event.target)) return;
    if (/^[0-9]$/.test(key)) {
      var target = digitTarget(key);
      if (!target) return;
      event.preventDefault();
      if (target.type === "checkbox" || target.type === "radio") {
        target.checked = target.type === "radio" ? true : !target.checked;
        target.focus();
      } else {
        press(target);
      }
      return;
    }
    if (key === "Enter") {
      var active = document.activeElement;
      if (active && (active.tagName === "BUTTON" || active.tagName === "A" || active.tagName === "SUMMARY")) return;
      if (kind && kind !== "single_choice" && kind !== "image_choice") {
        event.preventDefault();
        save();
      }
      return;
    }
    if (key === "s" && skip) {
      event.preventDefault();
      skip.open = true;
      var first = skip.querySelector("button");
      if (first) first.focus();
      return;
    }
    if ((key === "u" || key === "Backspace") && undo) {
      event.preventDefault();
      window.location.href = undo.href;
      return;
    }
    if (key === "?" && help) {
      event.preventDefault();
      help.open = !help.open;
    }
  });

  // Continue on the page after a qualification question answers to Enter and 1.
  var next = document.getElementById("continue");
  if (next) {
    document.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === "1") {
        event.preventDefault();
        window.location.href = next.href;
      }
    });
  }
})();
