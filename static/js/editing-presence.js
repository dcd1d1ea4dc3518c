/* Tells the server this editor still has the issue open (a heartbeat every
 * data-heartbeat-seconds) and shows who else does; on leaving the page, a
 * beacon removes this editor at once (papers.presence keeps the list in the
 * shared cache, and forgets a silent editor within a minute anyway). */
(function () {
  "use strict";
  var script = document.currentScript;
  var note = document.getElementById("editing-presence");
  var token = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (!script || !note) {
    return;
  }
  var url = script.dataset.heartbeatUrl;
  var leaveUrl = script.dataset.leaveUrl;
  var seconds = parseInt(script.dataset.heartbeatSeconds, 10) || 15;
  function beat() {
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"X-CSRFToken": token ? token.value : ""}
    })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        var names = data.others.map(function (other) { return other.name; });
        note.hidden = names.length === 0;
        note.textContent = names.join("、") + " 也打开了这一期，保存前请先沟通。";
      })
      .catch(function () { /* the page works without it */ });
  }
  setInterval(beat, seconds * 1000);
  // Leaving (closing the tab, following a link, saving): say so at once.
  window.addEventListener("pagehide", function () {
    if (!leaveUrl || !navigator.sendBeacon) {
      return;
    }
    var body = new FormData();
    body.append("csrfmiddlewaretoken", token ? token.value : "");
    navigator.sendBeacon(leaveUrl, body);
  });
  // Back again from the browser's page cache: present again.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      beat();
    }
  });
})();
