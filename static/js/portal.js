// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  function copyButtons() {
    document.querySelectorAll("[data-copy-target]").forEach(function (button) {
      button.addEventListener("click", function () {
        var target = document.getElementById(button.getAttribute("data-copy-target"));
        if (!target || !navigator.clipboard) { return; }
        // The manual key is shown in groups of four; apps want it without spaces.
        var text = target.id === "manual-key" ? target.textContent.replace(/\s+/g, "") : target.textContent;
        navigator.clipboard.writeText(text).then(function () {
          var original = button.textContent;
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = original; }, 1500);
        });
      });
    });
  }

  function countdowns() {
    document.querySelectorAll(".countdown").forEach(function (el) {
      var cycle = el.closest(".next-code") ? 30 : 0;
      var left = parseInt(el.getAttribute("data-seconds"), 10) || 0;
      setInterval(function () {
        left -= 1;
        if (left <= 0) { left = cycle > 0 ? cycle : 0; }
        el.textContent = String(left);
      }, 1000);
    });
  }

  function tabs() {
    document.querySelectorAll("[data-tabs]").forEach(function (box) {
      var buttons = box.querySelectorAll("[role=tab]");
      function select(button) {
        buttons.forEach(function (b) {
          var on = b === button;
          b.setAttribute("aria-selected", on ? "true" : "false");
          b.tabIndex = on ? 0 : -1;
          document.getElementById(b.getAttribute("aria-controls")).hidden = !on;
        });
      }
      buttons.forEach(function (button, i) {
        button.addEventListener("click", function () { select(button); });
        button.addEventListener("keydown", function (event) {
          var step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
          var next = step ? buttons[(i + step + buttons.length) % buttons.length]
            : event.key === "Home" ? buttons[0] : event.key === "End" ? buttons[buttons.length - 1] : null;
          if (next) {
            event.preventDefault();
            select(next);
            next.focus();
          }
        });
      });
    });
  }

  // After a form comes back with a problem, the explanation may be below the fold (the scan page
  // repeats the QR code above the code fields): bring it into view.
  function revealProblem() {
    var problem = document.querySelector(".problem[role=alert]");
    if (problem && problem.getBoundingClientRect().bottom > window.innerHeight) {
      problem.scrollIntoView({ block: "center" });
    }
  }

  function confirmations() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    copyButtons();
    countdowns();
    tabs();
    confirmations();
    revealProblem();
  });
}());
