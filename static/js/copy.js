// Copy buttons: <button data-copy-target="ID" data-copied-label="…" hidden>.
// They ship hidden and appear only where the clipboard API works (a secure
// page), so without JavaScript the text is still there to select by hand.
"use strict";

for (const button of document.querySelectorAll("button[data-copy-target]")) {
  const source = document.getElementById(button.dataset.copyTarget);
  if (!source || !navigator.clipboard) continue;
  const label = button.textContent;
  button.setAttribute("aria-live", "polite");
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(source.textContent);
      button.textContent = button.dataset.copiedLabel || label;
    } catch {
      // Permission refused: select the text so that Ctrl+C still works.
      window.getSelection().selectAllChildren(source);
    }
    setTimeout(() => { button.textContent = label; }, 2000);
  });
}
