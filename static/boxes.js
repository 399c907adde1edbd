// Drawing boxes on the item's image. Drag on the image to draw (mouse, pen or a finger),
// drag a box to move it and its corner handles to resize it; a digit (or a tap on a label)
// names the selected box, or the next one drawn; Delete removes it; Enter saves (keys.js).
// By keyboard alone: n adds a box in the middle, Tab goes from box to box, the arrows move
// the selected box (Shift: by 10), Ctrl and the arrows resize it. + and - zoom; the
// image pans by scrolling, by dragging with Space held, or in Pan mode. Coordinates are in
// the image's own pixels, whatever its size on screen. Without this script the #answer
// field stays visible and takes the JSON typed by hand.
(function () {
  "use strict";
  var form = document.getElementById("label-form");
  var stage = document.getElementById("image-stage");
  var img = document.getElementById("item-image");
  var answer = document.getElementById("answer");
  if (!form || !stage || !img || !answer || form.getAttribute("data-kind") !== "boxes") return;

  var chips = Array.prototype.slice.call(form.querySelectorAll(".label-chip"));
  var list = document.getElementById("marks");
  var help = document.getElementById("box-help");
  var skip = document.getElementById("skip-choice");
  var colours = {};
  chips.forEach(function (chip) {
    colours[chip.getAttribute("data-label")] = chip.getAttribute("data-colour");
    chip.style.setProperty("--chip", chip.getAttribute("data-colour"));
  });
  var active = chips.length ? chips[0].getAttribute("data-label") : null;
  var boxes = [];
  var selected = null;
  var zoom = 1;
  var panMode = false;
  var spaceHeld = false;
  var natural = { w: 0, h: 0 };

  // The image sits on a canvas inside a scrolling viewport; boxes are placed in percent of
  // the image, so zooming only changes the canvas width.
  var viewport = document.createElement("div");
  viewport.className = "viewport";
  var canvas = document.createElement("div");
  canvas.className = "canvas";
  img.parentNode.insertBefore(viewport, img);
  viewport.appendChild(canvas);
  canvas.appendChild(img);

  function read(json) {
    try {
      var value = JSON.parse(json || "[]");
      if (!Array.isArray(value)) return [];
      return value.filter(function (b) {
        return b && [b.x, b.y, b.w, b.h].every(function (v) { return typeof v === "number" && isFinite(v); }) &&
          b.w > 0 && b.h > 0 && Object.prototype.hasOwnProperty.call(colours, b.label);
      }).map(function (b) { return { x: b.x, y: b.y, w: b.w, h: b.h, label: b.label }; });
    } catch (e) {
      return [];
    }
  }

  function save() {
    answer.value = JSON.stringify(boxes.map(function (b) {
      return { x: b.x, y: b.y, w: b.w, h: b.h, label: b.label };
    }));
  }

  function clamp(v, lo, hi) {
    return Math.min(hi, Math.max(lo, v));
  }

  // Keeps a box inside the image, whole pixels, at least one pixel wide and high.
  function fit(b) {
    b.w = clamp(Math.round(b.w), 1, natural.w);
    b.h = clamp(Math.round(b.h), 1, natural.h);
    b.x = clamp(Math.round(b.x), 0, natural.w - b.w);
    b.y = clamp(Math.round(b.y), 0, natural.h - b.h);
    return b;
  }

  // A pointer position in image pixels.
  function at(event) {
    var rect = canvas.getBoundingClientRect();
    return {
      x: clamp((event.clientX - rect.left) / rect.width * natural.w, 0, natural.w),
      y: clamp((event.clientY - rect.top) / rect.height * natural.h, 0, natural.h),
    };
  }

  function describe(b, i) {
    return "box " + (i + 1) + ": " + b.label + " at " + b.x + ", " + b.y + ", " + b.w + " by " + b.h + " pixels";
  }

  function render() {
    Array.prototype.slice.call(canvas.querySelectorAll(".box")).forEach(function (el) { el.remove(); });
    boxes.forEach(function (b, i) {
      var el = document.createElement("div");
      el.className = "box" + (b === selected ? " selected" : "");
      el.tabIndex = 0;
      el.setAttribute("role", "button");
      el.setAttribute("aria-label", describe(b, i));
      el.style.setProperty("--chip", colours[b.label]);
      el.style.left = (b.x / natural.w * 100) + "%";
      el.style.top = (b.y / natural.h * 100) + "%";
      el.style.width = (b.w / natural.w * 100) + "%";
      el.style.height = (b.h / natural.h * 100) + "%";
      var tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = b.label;
      el.appendChild(tag);
      if (b === selected) {
        ["nw", "ne", "sw", "se"].forEach(function (corner) {
          var handle = document.createElement("span");
          handle.className = "handle " + corner;
          handle.setAttribute("data-corner", corner);
          el.appendChild(handle);
        });
      }
      el.addEventListener("focus", function () {
        if (selected !== b) select(b);
      });
      canvas.appendChild(el);
    });
    renderList();
  }

  function renderList() {
    if (!list) return;
    list.textContent = "";
    boxes.forEach(function (b, i) {
      var li = document.createElement("li");
      var tag = document.createElement("span");
      tag.className = "swatch";
      tag.style.setProperty("--chip", colours[b.label]);
      tag.textContent = b.label;
      li.appendChild(tag);
      li.appendChild(document.createTextNode(" x " + b.x + ", y " + b.y + ", " + b.w + " × " + b.h + " px"));
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "secondary";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", "remove " + describe(b, i));
      remove.addEventListener("click", function () { removeBox(b); });
      li.appendChild(remove);
      list.appendChild(li);
    });
  }

  function focusSelected() {
    var i = boxes.indexOf(selected);
    var el = i >= 0 ? canvas.querySelectorAll(".box")[i] : null;
    if (el) el.focus({ preventScroll: true });
  }

  // Selecting re-draws the boxes, so the selected one takes the focus again.
  function select(b) {
    selected = b;
    render();
    focusSelected();
  }

  function changed() {
    save();
    render();
    focusSelected();
  }

  function removeBox(b) {
    boxes = boxes.filter(function (x) { return x !== b; });
    if (selected === b) selected = null;
    changed();
    viewport.focus({ preventScroll: true });
  }

  function pick(label) {
    active = label;
    chips.forEach(function (chip) { chip.classList.toggle("active", chip.getAttribute("data-label") === label); });
    if (selected) {
      selected.label = label;
      changed();
    }
  }

  // Zoom keeps the middle of the view in the middle.
  function setZoom(z) {
    var cx = (viewport.scrollLeft + viewport.clientWidth / 2) / Math.max(1, canvas.offsetWidth);
    var cy = (viewport.scrollTop + viewport.clientHeight / 2) / Math.max(1, canvas.offsetHeight);
    zoom = clamp(z, 1, 8);
    // At 100% the image fills the width, up to 4 times its own size, and fits the height.
    var base = Math.min(viewport.clientWidth || natural.w, natural.w * 4, window.innerHeight * 0.7 * natural.w / natural.h);
    canvas.style.width = Math.round(base * zoom) + "px";
    viewport.scrollLeft = cx * canvas.offsetWidth - viewport.clientWidth / 2;
    viewport.scrollTop = cy * canvas.offsetHeight - viewport.clientHeight / 2;
    var label = document.getElementById("zoom-level");
    if (label) label.textContent = Math.round(zoom * 100) + "%";
  }

  // One drag at a time: drawing, moving or resizing a box, or panning.
  var drag = null;

  viewport.addEventListener("pointerdown", function (event) {
    if (!natural.w || event.button > 0) return;
    event.preventDefault();
    viewport.setPointerCapture(event.pointerId);
    if (panMode || spaceHeld) {
      drag = { mode: "pan", x: event.clientX, y: event.clientY, left: viewport.scrollLeft, top: viewport.scrollTop };
      return;
    }
    var p = at(event);
    var handle = event.target.closest(".handle");
    var boxEl = event.target.closest(".box");
    if (handle && selected) {
      drag = { mode: "resize", corner: handle.getAttribute("data-corner"), box: selected, start: copy(selected) };
    } else if (boxEl) {
      var b = boxes[Array.prototype.indexOf.call(canvas.querySelectorAll(".box"), boxEl)];
      select(b);
      drag = { mode: "move", box: b, start: copy(b), from: p };
    } else {
      drag = { mode: "draw", from: p, box: null };
    }
  });

  function copy(b) {
    return { x: b.x, y: b.y, w: b.w, h: b.h };
  }

  viewport.addEventListener("pointermove", function (event) {
    if (!drag) return;
    if (drag.mode === "pan") {
      viewport.scrollLeft = drag.left - (event.clientX - drag.x);
      viewport.scrollTop = drag.top - (event.clientY - drag.y);
      return;
    }
    var p = at(event);
    if (drag.mode === "draw") {
      var w = Math.abs(p.x - drag.from.x);
      var h = Math.abs(p.y - drag.from.y);
      if (!drag.box && (w < 2 || h < 2)) return;
      if (!drag.box) {
        drag.box = { x: 0, y: 0, w: 1, h: 1, label: active };
        boxes.push(drag.box);
        selected = drag.box;
      }
      drag.box.x = Math.min(p.x, drag.from.x);
      drag.box.y = Math.min(p.y, drag.from.y);
      drag.box.w = Math.max(1, w);
      drag.box.h = Math.max(1, h);
      fit(drag.box);
    } else if (drag.mode === "move") {
      drag.box.x = drag.start.x + p.x - drag.from.x;
      drag.box.y = drag.start.y + p.y - drag.from.y;
      drag.box.w = drag.start.w;
      drag.box.h = drag.start.h;
      fit(drag.box);
    } else if (drag.mode === "resize") {
      var s = drag.start;
      var left = drag.corner.indexOf("w") >= 0 ? Math.min(p.x, s.x + s.w - 1) : s.x;
      var right = drag.corner.indexOf("e") >= 0 ? Math.max(p.x, s.x + 1) : s.x + s.w;
      var top = drag.corner.indexOf("n") >= 0 ? Math.min(p.y, s.y + s.h - 1) : s.y;
      var bottom = drag.corner.indexOf("s") >= 0 ? Math.max(p.y, s.y + 1) : s.y + s.h;
      drag.box.x = left;
      drag.box.y = top;
      drag.box.w = right - left;
      drag.box.h = bottom - top;
      fit(drag.box);
    }
    save();
    render();
  });

  function endDrag() {
    if (!drag) return;
    var done = drag;
    drag = null;
    if (done.mode === "draw" && !done.box) {
      selected = null;
      render();
      viewport.focus({ preventScroll: true });
      return;
    }
    if (done.mode !== "pan") changed();
  }
  viewport.addEventListener("pointerup", endDrag);
  viewport.addEventListener("pointercancel", endDrag);

  chips.forEach(function (chip) {
    chip.addEventListener("click", function () {
      pick(chip.getAttribute("data-label"));
      if (selected) focusSelected();
    });
  });

  function typing(t) {
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  }

  // Listens before keys.js (capture on window), so Delete and Backspace on a selected box
  // remove it rather than going back to the last answer.
  window.addEventListener("keydown", function (event) {
    if (typing(event.target) || (skip && skip.open) || event.altKey || event.metaKey) return;
    var key = event.key;
    var handled = true;
    if (/^[1-9]$/.test(key) && !event.ctrlKey) {
      var chip = form.querySelector('.label-chip[data-label-key="' + key + '"]');
      if (chip) pick(chip.getAttribute("data-label"));
      else handled = false;
    } else if (key === "n" && !event.ctrlKey && natural.w) {
      var b = fit({ x: (natural.w - natural.w / 4) / 2, y: (natural.h - natural.h / 4) / 2, w: natural.w / 4, h: natural.h / 4, label: active });
      boxes.push(b);
      selected = b;
      changed();
    } else if ((key === "Delete" || key === "Backspace") && selected && !event.ctrlKey) {
      removeBox(selected);
    } else if (key.indexOf("Arrow") === 0 && selected) {
      var step = event.shiftKey ? 10 : 1;
      var dx = key === "ArrowRight" ? step : key === "ArrowLeft" ? -step : 0;
      var dy = key === "ArrowDown" ? step : key === "ArrowUp" ? -step : 0;
      if (event.ctrlKey) {
        selected.w += dx;
        selected.h += dy;
      } else {
        selected.x += dx;
        selected.y += dy;
      }
      fit(selected);
      changed();
    } else if (key === "Escape" && selected) {
      selected = null;
      render();
      viewport.focus({ preventScroll: true });
    } else if ((key === "+" || key === "=") && !event.ctrlKey) {
      setZoom(zoom * 1.5);
    } else if (key === "-" && !event.ctrlKey) {
      setZoom(zoom / 1.5);
    } else if (key === " " && event.target.tagName !== "BUTTON" && event.target.tagName !== "SUMMARY" && event.target.tagName !== "A") {
      spaceHeld = true;
      viewport.classList.add("panning");
    } else {
      handled = false;
    }
    if (handled) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);
  window.addEventListener("keyup", function (event) {
    if (event.key === " ") {
      spaceHeld = false;
      viewport.classList.toggle("panning", panMode);
    }
  });

  function button(id, action) {
    var el = document.getElementById(id);
    if (el) el.addEventListener("click", action);
    return el;
  }
  button("zoom-in", function () { setZoom(zoom * 1.5); });
  button("zoom-out", function () { setZoom(zoom / 1.5); });
  button("zoom-fit", function () { setZoom(1); });
  var pan = button("pan-mode", function () {
    panMode = !panMode;
    pan.setAttribute("aria-pressed", String(panMode));
    viewport.classList.toggle("panning", panMode);
  });

  function start() {
    natural = { w: img.naturalWidth, h: img.naturalHeight };
    if (!natural.w || !natural.h) return;
    boxes = read(answer.value).map(fit);
    save();
    setZoom(1);
    render();
    var tools = document.getElementById("zoom-tools");
    if (tools) tools.hidden = false;
    if (help) help.hidden = false;
    viewport.focus({ preventScroll: true });
  }

  // Enhanced: the JSON box gives way to drawing on the image itself.
  var box = document.getElementById("answer-box");
  if (box) box.hidden = true;
  viewport.tabIndex = 0;
  viewport.setAttribute("role", "application");
  viewport.setAttribute("aria-label", "the image: drag to draw a box, or press n to add one");
  viewport.setAttribute("aria-describedby", "box-help");
  pick(active);
  window.addEventListener("resize", function () { setZoom(zoom); });
  if (img.complete && img.naturalWidth) {
    start();
  } else {
    img.addEventListener("load", start);
    img.addEventListener("error", function () {
      if (box) box.hidden = false;
      if (help) {
        help.hidden = false;
        help.textContent = "The image did not load, so boxes cannot be drawn on it. Skip the item, or report it as broken.";
      }
    });
  }
})();
