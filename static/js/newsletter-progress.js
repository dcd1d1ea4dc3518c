/* Keeps the numbers of an issue's mailing up to date on its admin page: asks
 * the server (newsletter.admin_views.progress) every data-poll-seconds while
 * something is still to happen, and stops once nothing is. Without script the
 * page shows the numbers as they were when it was drawn. */
(function () {
  "use strict";
  var table = document.getElementById("newsletter-progress");
  if (!table || table.dataset.active !== "true") {
    return;
  }
  var summary = document.querySelector("[data-newsletter-summary]");
  var facts = document.querySelector("[data-newsletter-facts]");
  var cancel = document.querySelector("[data-newsletter-until-queued]");
  var seconds = parseInt(table.dataset.pollSeconds, 10) || 3;
  var timer = setInterval(poll, seconds * 1000);

  function show(data) {
    var cells = table.querySelectorAll("[data-delivery-status]");
    Array.prototype.forEach.call(cells, function (cell) {
      var count = data.counts[cell.dataset.deliveryStatus];
      if (typeof count === "number") {
        cell.textContent = String(count);
      }
    });
    if (summary && typeof data.summary === "string") {
      summary.textContent = data.summary;
    }
    if (facts && typeof data.facts === "string") {
      facts.textContent = data.facts;
    }
    if (data.queued_at && cancel) {
      // Queued: too late to cancel.
      cancel.hidden = true;
    }
    table.dataset.active = data.active ? "true" : "false";
  }

  function poll() {
    fetch(table.dataset.progressUrl, {
      credentials: "same-origin",
      headers: {"Accept": "application/json"}
    })
      .then(function (response) {
        if (!response.ok) {
          // Signed out or no longer allowed: asking again will not help.
          clearInterval(timer);
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (data) {
        show(data);
        if (!data.active) {
          clearInterval(timer);
        }
      })
      .catch(function () { /* the numbers shown stay; the next turn tries again */ });
  }
})();
