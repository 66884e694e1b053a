// The review page while it runs: progress events (queue place, packing counts, tokens),
// the elapsed time, a skeleton until the first text, and the state in the tab's title.
(function () {
  "use strict";

  var live = document.getElementById("review-live");
  var box = document.getElementById("review-progress");
  if (!live || !box) return;
  var text = document.getElementById("review-progress-text");
  var bar = document.getElementById("review-progress-bar");
  var elapsedEl = document.getElementById("review-elapsed");
  var FINAL = { done: true, failed: true, cancelled: true };
  var status = box.getAttribute("data-status") || "";
  var zero = Date.now() - Number(elapsedEl.getAttribute("data-elapsed") || 0) * 1000;
  var timer = null;

  function number(n) {
    return Number(n).toLocaleString("en-US");
  }

  function plural(n, word) {
    return number(n) + " " + word + (n === 1 ? "" : "s");
  }

  // The same sentences as runs/progress.py describe(), which renders the first one.
  function describe(p) {
    switch (p.stage) {
      case "queued":
        return (p.position === 1 ? "next in the queue" : "position " + number(p.position) + " in the queue") +
          " · " + plural(p.running, "review") + " running";
      case "reading":
        return "read " + plural(p.done, "file");
      case "counting":
        return "counted " + number(p.done) + " of " + plural(p.total, "file");
      case "fitting":
        return "fitting " + plural(p.total, "file") + " into the model's context";
      case "streaming":
        return plural(p.tokens, "token") + " streamed · " + number(Math.round(p.tokens_per_second)) + " tokens/s";
    }
    return "";
  }

  function clock(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    var mm = h ? (m < 10 ? "0" : "") + m : String(m);
    return (h ? h + ":" : "") + mm + ":" + (s < 10 ? "0" : "") + s;
  }

  function tick() {
    elapsedEl.textContent = clock((Date.now() - zero) / 1000) + " elapsed";
  }

  function show(p) {
    // A queue place written just before the review was taken is stale once it runs.
    if (p.stage === "queued" && status !== "queued") return;
    text.textContent = describe(p);
    if (p.stage === "counting" && p.total) {
      bar.max = p.total;
      bar.value = p.done;
      bar.hidden = false;
    } else {
      bar.hidden = true;
    }
    if (typeof p.elapsed === "number") zero = Date.now() - p.elapsed * 1000;
  }

  function hideSkeleton() {
    var skeleton = document.getElementById("review-skeleton");
    if (skeleton) skeleton.remove();
  }

  function setTitle(word) {
    var suffix = live.getAttribute("data-title") || document.title;
    var mark = word === "done" ? "✓" : FINAL[word] ? "✗" : "…";
    document.title = mark + " " + word + " — " + suffix;
  }

  function setStatus(word) {
    if (!word) return;
    if (status === "queued" && word !== "queued") {
      text.textContent = "";
      zero = Date.now();
    }
    status = word;
    box.setAttribute("data-status", word);
    setTitle(word);
    if (FINAL[word]) {
      hideSkeleton();
      clearInterval(timer);
      box.hidden = true;
    }
  }

  // Progress data is JSON for this script, never markup to swap in.
  document.addEventListener("htmx:sseBeforeMessage", function (event) {
    if (event.target !== box) return;
    event.preventDefault();
    try {
      show(JSON.parse(event.detail.data));
    } catch (e) {
      /* a malformed event changes nothing */
    }
  });

  document.addEventListener("htmx:sseMessage", function (event) {
    var el = event.target;
    if (el && el.id === "review-status") setStatus(el.textContent.trim());
    var type = event.detail && event.detail.type;
    // The page shows the text as rendered blocks and a tail; API clients read `delta`.
    if (type === "delta" || type === "block" || type === "tail") hideSkeleton();
  });

  var initial = box.getAttribute("data-progress");
  if (initial) {
    try {
      show(JSON.parse(initial));
    } catch (e) {
      /* rendered by the server; nothing to add */
    }
  }
  setTitle(status);
  tick();
  timer = setInterval(tick, 1000);
})();
