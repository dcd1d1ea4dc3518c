// The "复制到公众号" button: copies the article as rich HTML (its inline
// styles included), so that WeChat's editor keeps headings, lists and styles.
// The clipboard API needs a secure page and the browser's consent; without
// it, the article is selected and copied the old way (execCommand), and if
// that is refused too, left selected for Ctrl+C. The button ships hidden:
// without JavaScript the article is still there to select by hand.
"use strict";

for (const button of document.querySelectorAll("button[data-copy-html]")) {
  const source = document.getElementById(button.dataset.copyHtml);
  if (!source) continue;
  const status = button.parentElement.querySelector("[role=status]");
  const say = (text) => { if (status) status.textContent = text; };
  button.hidden = false;

  const copyRich = async () => {
    if (!navigator.clipboard || !window.ClipboardItem) return false;
    const item = new ClipboardItem({
      "text/html": new Blob([source.innerHTML], { type: "text/html" }),
      "text/plain": new Blob([source.innerText], { type: "text/plain" }),
    });
    await navigator.clipboard.write([item]);
    return true;
  };

  const copySelection = () => {
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.selectAllChildren(source);
    let copied = false;
    try {
      copied = document.execCommand("copy");
    } catch {
      copied = false;
    }
    if (copied) selection.removeAllRanges();
    return copied;
  };

  button.addEventListener("click", async () => {
    let copied = false;
    try {
      copied = await copyRich();
    } catch {
      copied = false;
    }
    if (!copied) copied = copySelection();
    say(copied ? button.dataset.copiedLabel : button.dataset.selectedLabel);
  });
}
