// Marking spans of the item's text. Select text with the mouse, or focus the text and use
// Shift and the arrow keys (Ctrl as well to go by words), then press a label's digit or
// tap its chip; a click on a mark removes it; Enter saves (keys.js). The answer travels in
// the form's #answer field as JSON, offsets counted in Unicode scalar values (code points)
// as the server counts them, not in the UTF-16 units the DOM uses. Without this script
// the field stays visible and takes the JSON typed by hand.
(function () {
  "use strict";
  var form = document.getElementById("label-form");
  var textEl = document.getElementById("item-text");
  var answer = document.getElementById("answer");
  if (!form || !textEl || !answer || form.getAttribute("data-kind") !== "spans") return;

  var chars = Array.from(textEl.textContent);
  var chips = Array.prototype.slice.call(form.querySelectorAll(".label-chip"));
  var list = document.getElementById("marks");
  var skip = document.getElementById("skip-choice");
  var colours = {};
  chips.forEach(function (chip) {
    colours[chip.getAttribute("data-label")] = chip.getAttribute("data-colour");
    chip.style.setProperty("--chip", chip.getAttribute("data-colour"));
  });

  var spans = read(answer.value);
  var anchor = 0;
  var focus = 0;
  var caret = null;
  var caretAt = -1;

  function read(json) {
    try {
      var value = JSON.parse(json || "[]");
      if (!Array.isArray(value)) return [];
      return value.filter(function (s) {
        return s && typeof s.start === "number" && typeof s.end === "number" && s.start < s.end &&
          s.end <= chars.length && Object.prototype.hasOwnProperty.call(colours, s.label);
      });
    } catch (e) {
      return [];
    }
  }

  function codePoints(s) {
    var n = 0;
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c < 0xd800 || c > 0xdbff || i + 1 >= s.length) n++;
      else if (s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff) { n++; i++; }
      else n++;
    }
    return n;
  }

  // A DOM position inside the text as a code-point offset, or -1 outside it.
  function offsetOf(node, offset) {
    if (!textEl.contains(node)) return -1;
    var range = document.createRange();
    range.setStart(textEl, 0);
    range.setEnd(node, offset);
    return codePoints(range.toString());
  }

  // A code-point offset as a DOM position (a text node and a UTF-16 offset in it).
  function pointOf(cp) {
    var walker = document.createTreeWalker(textEl, NodeFilter.SHOW_TEXT);
    var left = cp;
    var last = null;
    for (var node = walker.nextNode(); node; node = walker.nextNode()) {
      var n = codePoints(node.data);
      if (left <= n) return { node: node, offset: Array.from(node.data).slice(0, left).join("").length };
      left -= n;
      last = node;
    }
    return last ? { node: last, offset: last.data.length } : { node: textEl, offset: 0 };
  }

  function sorted() {
    return spans.slice().sort(function (a, b) {
      return a.start - b.start || a.end - b.end || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0);
    });
  }

  function save() {
    answer.value = JSON.stringify(sorted().map(function (s) {
      return { start: s.start, end: s.end, label: s.label };
    }));
  }

  // The innermost span over [from, to), which gives a piece of text its colour.
  function innermost(from, to) {
    var best = null;
    spans.forEach(function (s) {
      if (s.start <= from && s.end >= to && (!best || s.end - s.start < best.end - best.start)) best = s;
    });
    return best;
  }

  function render() {
    var cuts = [0, chars.length];
    spans.forEach(function (s) { cuts.push(s.start, s.end); });
    cuts = cuts.filter(function (c, i) { return cuts.indexOf(c) === i; }).sort(function (a, b) { return a - b; });
    textEl.textContent = "";
    for (var i = 0; i + 1 < cuts.length; i++) {
      var piece = chars.slice(cuts[i], cuts[i + 1]).join("");
      var span = innermost(cuts[i], cuts[i + 1]);
      if (!span) {
        textEl.appendChild(document.createTextNode(piece));
        continue;
      }
      var mark = document.createElement("mark");
      mark.className = "mark";
      mark.textContent = piece;
      mark.style.setProperty("--chip", colours[span.label]);
      mark.title = span.label + " (click to remove)";
      mark.setAttribute("data-start", String(span.start));
      mark.setAttribute("data-end", String(span.end));
      mark.setAttribute("data-label", span.label);
      textEl.appendChild(mark);
    }
    caret = document.createElement("span");
    caret.className = "caret";
    caret.setAttribute("aria-hidden", "true");
    caret.hidden = true;
    caretAt = focus;
    var at = pointOf(focus);
    if (at.node.nodeType === Node.TEXT_NODE) {
      var after = at.node.splitText(at.offset);
      after.parentNode.insertBefore(caret, after);
    } else {
      textEl.appendChild(caret);
    }
    renderList();
  }

  function renderList() {
    if (!list) return;
    list.textContent = "";
    sorted().forEach(function (s) {
      var li = document.createElement("li");
      var tag = document.createElement("span");
      tag.className = "swatch";
      tag.style.setProperty("--chip", colours[s.label]);
      tag.textContent = s.label;
      li.appendChild(tag);
      li.appendChild(document.createTextNode(" “" + chars.slice(s.start, s.end).join("") + "” (" + s.start + "–" + s.end + ")"));
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "secondary";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", "remove " + s.label + " “" + chars.slice(s.start, s.end).join("") + "”");
      remove.addEventListener("click", function () {
        drop(s);
        textEl.focus();
      });
      li.appendChild(remove);
      list.appendChild(li);
    });
  }

  function showSelection() {
    var a = pointOf(anchor);
    var f = pointOf(focus);
    var selection = window.getSelection();
    selection.setBaseAndExtent(a.node, a.offset, f.node, f.offset);
    showCaret();
  }

  // The caret shows where Shift and the arrows start from, while the text has focus.
  function showCaret() {
    if (caret) caret.hidden = anchor !== focus || caretAt !== focus || document.activeElement !== textEl;
  }

  function drop(span) {
    spans = spans.filter(function (s) { return s !== span; });
    save();
    render();
    showSelection();
  }

  function mark(label) {
    var start = Math.min(anchor, focus);
    var end = Math.max(anchor, focus);
    if (start === end) return false;
    var same = spans.some(function (s) { return s.start === start && s.end === end && s.label === label; });
    if (!same) spans.push({ start: start, end: end, label: label });
    anchor = focus = end;
    save();
    render();
    showSelection();
    return true;
  }

  function isWord(c) {
    return /[\p{L}\p{N}_]/u.test(c);
  }

  function moved(key, byWord) {
    var i = focus;
    if (key === "Home") return 0;
    if (key === "End") return chars.length;
    if (key === "ArrowRight") {
      if (!byWord) return Math.min(chars.length, i + 1);
      while (i < chars.length && !isWord(chars[i])) i++;
      while (i < chars.length && isWord(chars[i])) i++;
      return i;
    }
    if (!byWord) return Math.max(0, i - 1);
    while (i > 0 && !isWord(chars[i - 1])) i--;
    while (i > 0 && isWord(chars[i - 1])) i--;
    return i;
  }

  document.addEventListener("selectionchange", function () {
    var selection = window.getSelection();
    if (!selection.rangeCount) return;
    var a = offsetOf(selection.anchorNode, selection.anchorOffset);
    var f = offsetOf(selection.focusNode, selection.focusOffset);
    if (a < 0 || f < 0) return;
    anchor = a;
    focus = f;
    showCaret();
  });

  textEl.addEventListener("keydown", function (event) {
    var key = event.key;
    if (["ArrowLeft", "ArrowRight", "Home", "End"].indexOf(key) < 0 || event.altKey || event.metaKey) return;
    event.preventDefault();
    focus = moved(key, event.ctrlKey);
    if (!event.shiftKey) anchor = focus;
    if (anchor === focus) render();
    showSelection();
  });

  textEl.addEventListener("focus", showCaret);
  textEl.addEventListener("blur", function () {
    if (caret) caret.hidden = true;
  });

  textEl.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("mark.mark") : null;
    if (!target || !window.getSelection().isCollapsed) return;
    var start = Number(target.getAttribute("data-start"));
    var end = Number(target.getAttribute("data-end"));
    var label = target.getAttribute("data-label");
    var span = spans.filter(function (s) { return s.start === start && s.end === end && s.label === label; })[0];
    if (span) drop(span);
  });

  chips.forEach(function (chip) {
    // Keep the text's selection when the chip is pressed with the mouse.
    chip.addEventListener("mousedown", function (event) { event.preventDefault(); });
    chip.addEventListener("click", function () {
      mark(chip.getAttribute("data-label"));
      textEl.focus();
    });
  });

  document.addEventListener("keydown", function (event) {
    if (!/^[1-9]$/.test(event.key) || event.ctrlKey || event.metaKey || event.altKey) return;
    if (skip && skip.open) return;
    var t = event.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) return;
    var chip = form.querySelector('.label-chip[data-label-key="' + event.key + '"]');
    if (!chip) return;
    event.preventDefault();
    mark(chip.getAttribute("data-label"));
  });

  // Enhanced: the JSON box gives way to marking on the text itself.
  var box = document.getElementById("answer-box");
  if (box) box.hidden = true;
  var help = document.getElementById("span-help");
  if (help) help.hidden = false;
  textEl.tabIndex = 0;
  textEl.classList.add("markable");
  textEl.setAttribute("role", "textbox");
  textEl.setAttribute("aria-readonly", "true");
  textEl.setAttribute("aria-multiline", "true");
  textEl.setAttribute("aria-label", "The text to mark: select a part, then press a label's key");
  textEl.setAttribute("aria-describedby", "span-help");
  save();
  render();
  textEl.focus({ preventScroll: true });
})();
