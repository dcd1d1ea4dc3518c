/* Offers arXiv's title and authors when an editor types an arXiv id.
 *
 * Asks a staff-only endpoint (which asks arXiv's API, politely and with a
 * timeout) and shows what it found under the field, with a button that fills
 * the entry's title and authors. Nothing is filled without a click. When arXiv
 * cannot be reached the message says so and the form stays usable. The
 * endpoint also lists other issues that already covered the paper.
 */
(function () {
  "use strict";
  var tools = document.getElementById("editor-tools");
  if (!tools || !tools.dataset.arxivMetadataUrl) {
    return;
  }
  var url = tools.dataset.arxivMetadataUrl;
  var issueId = tools.dataset.issueId || "";

  function sibling(input, name) {
    var prefix = input.name.slice(0, input.name.length - "arxiv_id".length);
    return document.querySelector("[name='" + prefix + name + "']");
  }

  // The message goes at the end of the field's form row, below its inputs:
  // inside the row's flex line it would squeeze the id input beside it.
  function box(input) {
    var row = input.closest(".form-row") || input.parentNode;
    var next = row.querySelector(".arxiv-lookup");
    if (!next) {
      next = document.createElement("div");
      next.className = "arxiv-lookup";
      next.setAttribute("role", "status");
      row.appendChild(next);
    }
    return next;
  }

  function show(input, data) {
    var out = box(input);
    out.replaceChildren();
    if (data.title) {
      var found = document.createElement("p");
      found.textContent = "arXiv：" + data.title + (data.authors ? " — " + data.authors : "");
      var fill = document.createElement("button");
      fill.type = "button";
      fill.className = "button";
      fill.textContent = "填入标题和作者";
      fill.addEventListener("click", function () {
        var title = sibling(input, "title");
        var authors = sibling(input, "authors");
        if (title) { title.value = data.title; }
        if (authors) { authors.value = data.authors; }
        fill.disabled = true;
        fill.textContent = "已填入";
      });
      found.appendChild(document.createTextNode(" "));
      found.appendChild(fill);
      out.appendChild(found);
    } else if (data.error) {
      var error = document.createElement("p");
      error.className = "arxiv-lookup-error";
      error.textContent = data.error;
      out.appendChild(error);
    }
    if (data.earlier && data.earlier.length) {
      var earlier = document.createElement("p");
      earlier.appendChild(document.createTextNode("这篇论文之前已收录于："));
      data.earlier.forEach(function (item, index) {
        if (index) { earlier.appendChild(document.createTextNode("、")); }
        var link = document.createElement("a");
        link.href = item.url;
        link.textContent = item.issue;
        earlier.appendChild(link);
      });
      out.appendChild(earlier);
    }
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.name || !/arxiv_id$/.test(input.name) || !input.value.trim()) {
      return;
    }
    box(input).textContent = "正在查询 arXiv…";
    var query = new URLSearchParams({id: input.value, issue: issueId});
    fetch(url + "?" + query.toString(), {credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (data) { show(input, data); })
      .catch(function () { show(input, {error: "无法查询 arXiv，请稍后再试，或手动填写标题和作者。"}); });
  });
})();
