// Kernel-free explorers (tools/site_explorers.py precomputes the frames at build time).
// Each <div class="course-explorer" data-base="..."> holds its manifest as inline JSON; this script
// adds one range input per slider and shows the frame whose index matches the sliders (C order).
(function () {
  "use strict";

  function setup(root) {
    var manifest = JSON.parse(root.querySelector("script[type='application/json']").textContent);
    var base = root.getAttribute("data-base");
    var sliders = manifest.sliders;
    var controls = document.createElement("div");
    controls.className = "explorer-controls";
    var stage = document.createElement("div");
    stage.className = "explorer-stage";
    var background = document.createElement("img");
    background.className = "explorer-background";
    background.src = base + manifest.background;
    background.alt = "";
    var frame = document.createElement("img");
    frame.className = "explorer-frame";
    frame.alt = manifest.alt;
    stage.appendChild(background);
    stage.appendChild(frame);
    var readout = document.createElement("p");
    readout.className = "explorer-readout";
    readout.setAttribute("aria-live", "polite");
    var inputs = sliders.map(function (slider) {
      var label = document.createElement("label");
      var name = document.createElement("span");
      name.className = "explorer-label";
      name.textContent = slider.label;
      var input = document.createElement("input");
      input.type = "range";
      input.min = "0";
      input.max = String(slider.values.length - 1);
      input.step = "1";
      input.value = String(slider.initial);
      input.name = manifest.name + "-" + slider.name;
      input.setAttribute("aria-label", slider.label);
      var value = document.createElement("output");
      label.appendChild(name);
      label.appendChild(input);
      label.appendChild(value);
      controls.appendChild(label);
      input.addEventListener("input", update);
      return { input: input, value: value, slider: slider };
    });

    function update() {
      var index = 0;
      inputs.forEach(function (item) {
        var i = Number(item.input.value);
        index = index * item.slider.values.length + i;
        item.value.textContent = String(item.slider.values[i]);
      });
      frame.src = base + manifest.frames[index];
      readout.textContent = manifest.readouts[index];
      root.setAttribute("data-frame", String(index));
    }

    root.appendChild(controls);
    root.appendChild(stage);
    root.appendChild(readout);
    update();
    root.setAttribute("data-ready", "true");
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll(".course-explorer"), setup);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
