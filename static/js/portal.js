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
          // The page's own word for it (data-copied on <body>), so Japanese pages say コピーしました.
          button.textContent = document.body.getAttribute("data-copied") || "Copied";
          setTimeout(function () { button.textContent = original; }, 1500);
        });
      });
    });
  }

  // Seconds from the server's clock to this browser's when the page was rendered: the response's arrival
  // time is the closest this page can tell to the moment the server wrote data-server-time.
  function clockSkew(serverTime) {
    var arrived = Date.now();
    var nav = performance.getEntriesByType ? performance.getEntriesByType("navigation")[0] : null;
    if (nav && nav.responseStart > 0) { arrived = performance.timeOrigin + nav.responseStart; }
    return arrived / 1000 - serverTime;
  }

  // The code window follows the server's clock (AWS's), so the bar and the countdown are right even when
  // this device's clock is not; a skew over 15 seconds is worth a warning (AWS refuses skewed codes).
  function codeClocks() {
    document.querySelectorAll("[data-server-time]").forEach(function (box) {
      var skew = clockSkew(parseFloat(box.getAttribute("data-server-time")));
      var countdown = box.querySelector(".countdown");
      var bar = box.querySelector(".code-window");
      var warning = box.querySelector(".clock-warning");
      if (warning && Math.abs(skew) > 15) {
        warning.querySelectorAll(".clock-skew").forEach(function (el) {
          el.textContent = String(Math.round(Math.abs(skew)));
        });
        warning.querySelector(skew > 0 ? ".clock-ahead" : ".clock-behind").hidden = false;
        warning.hidden = false;
      }
      function tick() {
        var left = 30 - Math.floor(Date.now() / 1000 - skew) % 30;
        if (countdown) { countdown.textContent = String(left); }
        if (bar) { bar.value = left; }
      }
      tick();
      setInterval(tick, 1000);
    });
  }

  // Other countdowns (the 429 page's "try again in") simply run down to zero.
  function countdowns() {
    document.querySelectorAll(".countdown").forEach(function (el) {
      if (el.closest("[data-server-time]")) { return; }
      var left = parseInt(el.getAttribute("data-seconds"), 10) || 0;
      setInterval(function () {
        left = Math.max(0, left - 1);
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

  // After a failed submit, keyboard and screen-reader users start at the explanation: the error summary
  // if the page has one, else the first field marked invalid. It may be below the fold (the scan page
  // repeats the QR code above the code fields), so it is also brought to the middle of the view.
  function focusProblem() {
    var target = document.querySelector("[data-focus-after-submit]") ||
      document.querySelector("form [aria-invalid=true]");
    if (!target) { return; }
    target.focus({ preventScroll: true });
    var box = target.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) { target.scrollIntoView({ block: "center" }); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    copyButtons();
    codeClocks();
    countdowns();
    tabs();
    focusProblem();
  });
}());
