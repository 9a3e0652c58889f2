// Monitoring pages: polling only while the tab is visible, and a log that follows new lines.
// (The CSP forbids eval, so htmx trigger filters like [document.visibilityState=='visible'] cannot be used.)
(function () {
  "use strict";

  // A hidden tab skips its polls; the next tick after it becomes visible catches up (the log asks by id).
  document.addEventListener("htmx:beforeRequest", (event) => {
    const elt = event.detail.elt;
    if (document.hidden && elt && elt.hasAttribute("data-poll-visible")) {
      event.preventDefault();
    }
  });

  // Keep the log scrolled to the bottom if the reader was at the bottom before new lines arrived.
  let followLog = true;
  document.addEventListener("htmx:beforeSwap", () => {
    const log = document.getElementById("log-lines");
    if (log) followLog = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  });
  document.addEventListener("htmx:afterSettle", () => {
    const log = document.getElementById("log-lines");
    if (!log) return;
    if (log.querySelector(".log-line")) {
      log.querySelectorAll(".log-empty").forEach((el) => el.remove());
    }
    if (followLog) log.scrollTop = log.scrollHeight;
  });
  document.addEventListener("DOMContentLoaded", () => {
    const log = document.getElementById("log-lines");
    if (log) log.scrollTop = log.scrollHeight;
  });
})();
