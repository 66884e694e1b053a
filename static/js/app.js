// Small page behaviours that htmx attributes do not cover. Served from our own origin so
// the Content-Security-Policy can forbid inline scripts.
(function () {
  "use strict";

  document.addEventListener("htmx:sseMessage", function (event) {
    var live = document.getElementById("review-live");
    if (!live) return;
    if (event.detail && event.detail.type === "done") {
      live.classList.add("finished");
      return;
    }
    var stream = document.getElementById("review-stream");
    if (stream && event.detail && event.detail.type === "delta") {
      var nearBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
      if (nearBottom) window.scrollTo(0, document.body.scrollHeight);
    }
  });

  // The status word also colours its badge.
  document.addEventListener("htmx:sseMessage", function (event) {
    var el = event.target;
    if (el && el.id === "review-status") {
      var word = el.textContent.trim();
      el.className = "status status-" + word;
      var retry = document.getElementById("review-retry");
      if (retry && (word === "failed" || word === "cancelled")) retry.hidden = false;
    }
  });

  // An upload refused before the form was read (larger than all limits together) is
  // answered with one plain sentence and 413; it belongs in the form's error area too.
  document.addEventListener("htmx:responseError", function (event) {
    var errors = document.getElementById("upload-errors");
    var xhr = event.detail.xhr;
    if (!errors || event.detail.elt.id !== "upload-form" || xhr.status !== 413) return;
    errors.textContent = xhr.responseText;
  });
})();
