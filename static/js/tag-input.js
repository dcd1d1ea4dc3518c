/* Tag suggestions without a library: in the admin's entry forms, and in the
 * tag field of the newsletter's sign-up and preferences pages.
 *
 * A tag field holds a list such as "长上下文，检索增强生成、幻觉". The browser's
 * <datalist> matches the whole value, so after each keystroke the options are
 * rewritten as "<tags typed so far><separator><existing tag>": picking one
 * completes the last tag and keeps the others. Works with the keyboard, and
 * with inline rows added later (the listener is delegated).
 */
(function () {
  "use strict";
  var list = document.getElementById("tag-suggestions");
  if (!list) {
    return;
  }
  var names = Array.prototype.map.call(list.options, function (option) {
    return option.value;
  });
  var SEPARATORS = /[,，、;；]/;

  function lastSeparator(value) {
    for (var i = value.length - 1; i >= 0; i -= 1) {
      if (SEPARATORS.test(value.charAt(i))) {
        return i;
      }
    }
    return -1;
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.classList || !input.classList.contains("tag-input")) {
      return;
    }
    var prefix = input.value.slice(0, lastSeparator(input.value) + 1);
    var taken = {};
    prefix.split(SEPARATORS).forEach(function (name) {
      taken[name.trim().toLowerCase()] = true;
    });
    var options = names
      .filter(function (name) { return !taken[name.toLowerCase()]; })
      .map(function (name) { return new Option(name, prefix + name); });
    list.replaceChildren.apply(list, options);
  });
})();
