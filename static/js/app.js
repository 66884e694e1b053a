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
    if (stream && event.detail && event.detail.type === "tail") {
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

  // Split mode: a part's status word colours its badge; a part that failed or was
  // cancelled offers its own Retry, and one that ended no longer offers Cancel.
  document.addEventListener("htmx:sseMessage", function (event) {
    var el = event.target;
    var swap = el && el.getAttribute && el.getAttribute("sse-swap");
    if (!swap || !/^part\d+-status$/.test(swap)) return;
    var word = el.textContent.trim();
    el.className = "status status-" + word;
    var section = el.closest(".part");
    if (!section) return;
    var retry = section.querySelector(".part-retry");
    if (retry) retry.hidden = !(word === "failed" || word === "cancelled");
    var cancel = section.querySelector(".cancel-form");
    if (cancel) cancel.hidden = word === "done" || word === "failed" || word === "cancelled";
  });

  // An upload refused before the form was read (larger than all limits together) is
  // answered with one plain sentence and 413; it belongs in the form's error area too.
  document.addEventListener("htmx:responseError", function (event) {
    var errors = document.getElementById("upload-errors");
    var xhr = event.detail.xhr;
    if (!errors || event.detail.elt.id !== "upload-form" || xhr.status !== 413) return;
    errors.textContent = xhr.responseText;
  });

  // Copy buttons beside read-only values (share links, API tokens, invite links). Added
  // by script because they need it; without script the value is still there to select.
  function addCopyButtons(root) {
    root.querySelectorAll(".copy-row input.copy").forEach(function (input) {
      if (input.dataset.copyReady) return;
      input.dataset.copyReady = "1";
      var label = input.getAttribute("aria-label") || "Value";
      var what = label.charAt(0).toLowerCase() + label.slice(1);
      var button = document.createElement("button");
      button.type = "button";
      button.className = "secondary small copy-button";
      button.textContent = "Copy";
      button.setAttribute("aria-label", "Copy " + what);
      var status = document.createElement("span");
      status.className = "sr-only";
      status.setAttribute("role", "status");
      function copied() {
        button.textContent = "Copied";
        status.textContent = "The " + what + " is copied.";
        window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
      }
      function byHand() {
        input.focus();
        input.select();
        status.textContent = "Press Ctrl+C (or ⌘C) to copy the selected " + what + ".";
      }
      button.addEventListener("click", function () {
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(input.value).then(copied, byHand);
        } else {
          byHand();
        }
      });
      input.addEventListener("focus", function () { input.select(); });
      input.after(button, status);
    });
  }
  addCopyButtons(document);
  document.addEventListener("htmx:afterSwap", function (event) { addCopyButtons(event.target); });

  // Menus (<details class="menu">) close on a click elsewhere and on Escape, which
  // returns focus to their button.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      var inside = menu.contains(document.activeElement);
      menu.open = false;
      if (inside) menu.querySelector("summary").focus();
    });
  });
})();
