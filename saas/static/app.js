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

