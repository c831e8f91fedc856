// Every htmx request carries the CSRF token from the page's <meta name="csrf-token">.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && event.detail.verb !== "get") {
    event.detail.headers["X-CSRFToken"] = meta.content;
  }
});

// "Send again" buttons stay disabled, with a visible countdown, until they may be used.
function startCountdowns(root) {
  root.querySelectorAll("[data-countdown]").forEach(function (button) {
    var left = parseInt(button.dataset.countdown, 10) || 0;
    var label = button.querySelector(".countdown");
    if (left <= 0) return;
    var timer = setInterval(function () {
      left -= 1;
      if (left <= 0) {
        clearInterval(timer);
        button.disabled = false;
        if (label) label.textContent = "";
      } else if (label) {
        label.textContent = " (" + left + " s)";
      }
    }, 1000);
  });
}
document.addEventListener("DOMContentLoaded", function () { startCountdowns(document); });
document.addEventListener("htmx:load", function (event) { startCountdowns(event.detail.elt); });

// "Copy" buttons copy the text of the element their data-copy selector names.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var source = document.querySelector(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(function () {
    button.dataset.copied = "true";
  });
});

// The Content-Security-Policy forbids style="" attributes, so custom properties the server
// computes for an element (the Settings brand preview's colours) come as JSON in its
// data-css-vars attribute and are set through the CSSOM, which the policy allows.
function applyCssVars(root) {
  var elements = Array.prototype.slice.call(root.querySelectorAll("[data-css-vars]"));
  if (root.matches && root.matches("[data-css-vars]")) elements.unshift(root);
  elements.forEach(function (element) {
    var vars;
    try { vars = JSON.parse(element.dataset.cssVars); } catch (error) { return; }
    Object.keys(vars).forEach(function (name) {
      if (name.indexOf("--") === 0) element.style.setProperty(name, vars[name]);
    });
  });
}
document.addEventListener("DOMContentLoaded", function () { applyCssVars(document); });
document.addEventListener("htmx:load", function (event) { applyCssVars(event.detail.elt); });

// A frame marked data-fit-content (the dev outbox's email) is made as tall as its
// document, so a long email shows whole. The frame runs no scripts; its document is of
// our origin, so this page may measure it.
function fitFrame(frame) {
  try {
    var root = frame.contentDocument && frame.contentDocument.documentElement;
    // The frame's borders are part of its height (box-sizing: border-box).
    if (root) frame.style.height = root.scrollHeight + frame.offsetHeight - frame.clientHeight + "px";
  } catch (error) { /* another origin: keep the stylesheet's height */ }
}
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("iframe[data-fit-content]").forEach(function (frame) {
    frame.addEventListener("load", function () { fitFrame(frame); });
    window.addEventListener("resize", function () { fitFrame(frame); });
    fitFrame(frame);
  });
});
