// Uploads with a sign of life: a percentage, a Cancel button, and no second submit while
// the files are sent. Without this script the forms post as plain HTML forms.
(function () {
  "use strict";

  function buttons(form) {
    return form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]");
  }

  // The progress line under a form: a <progress>, the percentage and Cancel.
  function progressFor(form, onCancel) {
    var box = document.createElement("div");
    box.className = "upload-progress";
    box.setAttribute("role", "status");
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.setAttribute("aria-label", "Upload progress");
    bar.value = 0;
    var label = document.createElement("span");
    label.textContent = "Uploading… 0%";
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "secondary";
    cancel.textContent = "Cancel upload";
    cancel.addEventListener("click", onCancel);
    box.append(bar, label, cancel);
    form.append(box);
    Array.prototype.forEach.call(buttons(form), function (b) {
      b.disabled = true;
    });
    return {
      update: function (loaded, total) {
        if (!total) return;
        var pct = Math.min(100, Math.floor((loaded / total) * 100));
        // The answer's download reports progress too: the bar only moves forward.
        if (pct < bar.value) return;
        bar.value = pct;
        label.textContent = pct < 100 ? "Uploading… " + pct + "%" : "Uploaded; checking the files…";
      },
      done: function () {
        box.remove();
        Array.prototype.forEach.call(buttons(form), function (b) {
          b.disabled = false;
        });
      },
    };
  }

  // The project's upload form is sent by htmx: follow its request's events.
  var current = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    if (!form || form.id !== "upload-form") return;
    current = progressFor(form, function () {
      htmx.trigger(form, "htmx:abort");
      if (current) current.done();
      current = null;
    });
  });
  document.addEventListener("htmx:xhr:progress", function (event) {
    if (current && event.target.id === "upload-form") {
      current.update(event.detail.loaded, event.detail.total);
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (!current || event.detail.elt.id !== "upload-form") return;
    // On success htmx follows HX-Redirect to the new review: keep the buttons disabled.
    var xhr = event.detail.xhr;
    if (event.detail.successful && xhr && xhr.getResponseHeader("HX-Redirect")) return;
    current.done();
    current = null;
  });

  // Plain forms that carry files (re-run with a new archive): sent with XHR for progress.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-upload") || form.hasAttribute("hx-post")) return;
    event.preventDefault();
    var xhr = new XMLHttpRequest();
    var ui = progressFor(form, function () {
      xhr.abort();
      ui.done();
    });
    var data = new FormData(form, event.submitter || undefined);
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) ui.update(e.loaded, e.total);
    });
    xhr.addEventListener("load", function () {
      // The answer is the page the form redirects to; go there (its notices were shown
      // to this request, so they are copied over when it is the page we are on).
      var target = new URL(xhr.responseURL || window.location.href);
      if (target.pathname !== window.location.pathname) {
        window.location.assign(target.href);
        return;
      }
      var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var notices = page.querySelector(".messages");
      var main = document.querySelector("main");
      var old = main && main.querySelector(".messages");
      if (old) old.remove();
      if (notices && main) main.prepend(document.importNode(notices, true));
      ui.done();
    });
    xhr.addEventListener("error", function () {
      ui.done();
    });
    xhr.open("POST", form.action);
    xhr.send(data);
  });

  // The upload form's two sources: only the chosen one's fields show and are sent (a
  // disabled field is left out of the request). Without this script both show, and
  // the radio button decides on the server.
  function showSource(form) {
    var chosen = form.querySelector("input[name=source]:checked");
    var source = chosen ? chosen.value : "archive";
    Array.prototype.forEach.call(form.querySelectorAll("[data-source]"), function (box) {
      var on = box.getAttribute("data-source") === source;
      box.hidden = !on;
      Array.prototype.forEach.call(box.querySelectorAll("input"), function (input) {
        input.disabled = !on;
      });
    });
  }
  function initSource() {
    var form = document.getElementById("upload-form");
    if (!form || !form.querySelector("input[name=source]")) return;
    showSource(form);
    form.addEventListener("change", function (event) {
      if (event.target.name === "source") showSource(form);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", initSource);
  } else {
    initSource();
  }
})();
