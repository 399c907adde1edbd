// Zoom and pan for an image to choose about (boxes have their own, in boxes.js). The page
// works without this file: the image fits the page and "full size" opens it whole.
//   +, -       zoom in and out (also the buttons); Fit shows the whole image again
//   drag       pans a zoomed image (so do the scroll bars and a finger)
(function () {
  "use strict";
  var stage = document.getElementById("image-stage");
  var image = document.getElementById("item-image");
  if (!stage || !image || stage.classList.contains("boxes")) return;
  var zoom = 1;
  var fitWidth = 0;

  function fit() {
    stage.classList.remove("zoomed");
    image.style.width = "";
    fitWidth = image.getBoundingClientRect().width;
  }

  function setZoom(next) {
    if (!fitWidth) fit();
    var middleX = (stage.scrollLeft + stage.clientWidth / 2) / (fitWidth * zoom);
    var middleY = (stage.scrollTop + stage.clientHeight / 2) / Math.max(1, stage.scrollHeight);
    zoom = Math.min(8, Math.max(1, next));
    if (zoom === 1) {
      fit();
    } else {
      stage.classList.add("zoomed");
      image.style.width = Math.round(fitWidth * zoom) + "px";
      stage.scrollLeft = middleX * fitWidth * zoom - stage.clientWidth / 2;
      stage.scrollTop = middleY * stage.scrollHeight - stage.clientHeight / 2;
    }
    level.textContent = Math.round(zoom * 100) + "%";
  }

  function button(text, key, action) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "secondary";
    if (key) {
      var k = document.createElement("kbd");
      k.textContent = key;
      b.appendChild(k);
      b.appendChild(document.createTextNode(" "));
    }
    b.appendChild(document.createTextNode(text));
    b.addEventListener("click", action);
    return b;
  }

  var tools = document.createElement("div");
  tools.className = "zoom-tools";
  tools.id = "zoom-tools";
  var level = document.createElement("span");
  level.className = "muted";
  level.id = "zoom-level";
  level.textContent = "100%";
  tools.appendChild(button("Zoom out", "-", function () { setZoom(zoom / 1.5); }));
  tools.appendChild(button("Zoom in", "+", function () { setZoom(zoom * 1.5); }));
  tools.appendChild(button("Fit", null, function () { setZoom(1); }));
  tools.appendChild(level);
  stage.parentNode.insertBefore(tools, stage.nextSibling);

  document.addEventListener("keydown", function (event) {
    var t = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (t && (t.tagName === "INPUT" && t.type !== "radio" && t.type !== "checkbox" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) return;
    if (event.key === "+" || event.key === "=") {
      event.preventDefault();
      setZoom(zoom * 1.5);
    } else if (event.key === "-") {
      event.preventDefault();
      setZoom(zoom / 1.5);
    }
  });

  // Dragging a zoomed image pans it; a finger scrolls the stage natively.
  var drag = null;
  image.addEventListener("pointerdown", function (event) {
    if (zoom === 1 || event.pointerType === "touch") return;
    drag = { x: event.clientX, y: event.clientY, left: stage.scrollLeft, top: stage.scrollTop };
    image.setPointerCapture(event.pointerId);
    event.preventDefault();
  });
  image.addEventListener("pointermove", function (event) {
    if (!drag) return;
    stage.scrollLeft = drag.left - (event.clientX - drag.x);
    stage.scrollTop = drag.top - (event.clientY - drag.y);
  });
  image.addEventListener("pointerup", function () { drag = null; });
  image.addEventListener("pointercancel", function () { drag = null; });
  window.addEventListener("resize", function () {
    var keep = zoom;
    zoom = 1;
    fit();
    setZoom(keep);
  });
})();
