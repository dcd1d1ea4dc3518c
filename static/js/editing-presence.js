/* Tells the server this editor still has the issue open, every minute, and
 * shows who else does (papers.presence keeps the list in the shared cache). */
(function () {
  "use strict";
  var script = document.currentScript;
  var note = document.getElementById("editing-presence");
  var token = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (!script || !note) {
    return;
  }
  var url = script.dataset.heartbeatUrl;
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
  setInterval(beat, 60000);
})();
