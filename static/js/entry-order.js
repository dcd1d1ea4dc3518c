/* Reordering the entries of an issue: drag a row by its handle, or use the
 * "上移" / "下移" buttons (keyboard: Tab to a button, Enter). After every
 * move, or a change of section, positions are renumbered 1..n within each
 * section in the order the rows now stand; saving stores that order (the
 * formset parks moved rows first, so swaps never collide).
 */
(function () {
  "use strict";
  var group = document.getElementById("entries-group");
  if (!group) {
    return;
  }
  var dragged = null;

  function rows() {
    return Array.prototype.filter.call(
      group.querySelectorAll(".inline-related"),
      function (row) { return !row.classList.contains("empty-form") && row.id.indexOf("__prefix__") === -1; }
    );
  }

  function field(row, name) {
    return row.querySelector("[name$='-" + name + "']");
  }

  function inUse(row) {
    var id = field(row, "id");
    var title = field(row, "title");
    var remove = field(row, "DELETE");
    if (remove && remove.checked) {
      return false;
    }
    var section = field(row, "section");
    // A new row counts from the moment its section is chosen: editors pick the
    // section first and type the title after, and a row skipped until then
    // would keep the default 序号 1 while the rows after it were numbered.
    return Boolean((id && id.value) || (title && title.value.trim()) ||
                   (section && section.value));
  }

  function renumber() {
    var next = {};
    rows().filter(inUse).forEach(function (row) {
      var section = field(row, "section");
      var position = field(row, "position");
      if (!section || !position || !section.value) {
        return;
      }
      next[section.value] = (next[section.value] || 0) + 1;
      if (position.value !== String(next[section.value])) {
        position.value = next[section.value];
      }
    });
  }

  function move(row, offset) {
    var all = rows();
    var index = all.indexOf(row);
    var target = all[index + offset];
    if (!target) {
      return;
    }
    if (offset < 0) {
      target.parentNode.insertBefore(row, target);
    } else {
      target.parentNode.insertBefore(row, target.nextSibling);
    }
    renumber();
  }

  function button(label, title, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "entry-move";
    b.textContent = label;
    b.title = title;
    b.setAttribute("aria-label", title);
    b.addEventListener("click", onClick);
    return b;
  }

  function equip(row) {
    if (row.dataset.orderTools) {
      return;
    }
    row.dataset.orderTools = "1";
    var header = row.querySelector("h3");
    if (!header) {
      return;
    }
    var tools = document.createElement("span");
    tools.className = "entry-order-tools";
    var handle = document.createElement("span");
    handle.className = "drag-handle";
    handle.textContent = "⠿";
    handle.title = "拖动以调整顺序";
    handle.draggable = true;
    handle.addEventListener("dragstart", function (event) {
      dragged = row;
      row.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", row.id);
    });
    handle.addEventListener("dragend", function () {
      row.classList.remove("dragging");
      dragged = null;
    });
    row.addEventListener("dragover", function (event) {
      if (dragged && dragged !== row) {
        event.preventDefault();
      }
    });
    row.addEventListener("drop", function (event) {
      if (!dragged || dragged === row) {
        return;
      }
      event.preventDefault();
      var box = row.getBoundingClientRect();
      var after = event.clientY > box.top + box.height / 2;
      row.parentNode.insertBefore(dragged, after ? row.nextSibling : row);
      renumber();
    });
    tools.appendChild(handle);
    tools.appendChild(button("上移", "上移这一条", function () { move(row, -1); }));
    tools.appendChild(button("下移", "下移这一条", function () { move(row, 1); }));
    header.appendChild(tools);
  }

  rows().forEach(equip);
  group.addEventListener("change", function (event) {
    if (/-section$/.test(event.target.name || "")) {
      renumber();
    }
  });
  document.addEventListener("formset:added", function (event) {
    if (event.target.closest("#entries-group")) {
      equip(event.target);
    }
  });
})();
