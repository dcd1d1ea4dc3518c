/* Live preview beside each Markdown field of the admin (summaries, intro).
 *
 * The text goes to a staff-only endpoint that runs the site's own sanitising
 * renderer (papers.markdown), so the preview shows exactly the HTML readers
 * will get, and that HTML is already safe to insert.
 */
(function () {
  "use strict";
  var tools = document.getElementById("editor-tools");
  if (!tools || !tools.dataset.markdownPreviewUrl) {
    return;
  }
  var url = tools.dataset.markdownPreviewUrl;
  var token = document.querySelector("input[name=csrfmiddlewaretoken]");
  var FIELDS = "textarea[name$='summary'], textarea[name='intro']";

  function attach(textarea) {
    if (textarea.dataset.previewAttached || textarea.name.indexOf("__prefix__") !== -1) {
      return;
    }
    textarea.dataset.previewAttached = "1";
    var pair = document.createElement("div");
    pair.className = "markdown-pair";
    var preview = document.createElement("div");
    preview.className = "markdown-preview";
    preview.setAttribute("aria-live", "polite");
    preview.setAttribute("aria-label", "预览");
    textarea.parentNode.insertBefore(pair, textarea);
    pair.appendChild(textarea);
    pair.appendChild(preview);
    var timer = null;
    function render() {
      var body = new URLSearchParams({text: textarea.value});
      fetch(url, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: {"X-CSRFToken": token ? token.value : ""}
      })
        .then(function (response) { return response.json(); })
        .then(function (data) { preview.innerHTML = data.html || ""; })
        .catch(function () { preview.textContent = "预览暂时不可用。"; });
    }
    textarea.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(render, 300);
    });
    render();
  }

  document.querySelectorAll(FIELDS).forEach(attach);
  document.addEventListener("formset:added", function (event) {
    event.target.querySelectorAll(FIELDS).forEach(attach);
  });
})();
