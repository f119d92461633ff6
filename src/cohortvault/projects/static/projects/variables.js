/*
 * The proposal form's variable search: typing narrows the checkboxes of every domain to the
 * variables whose name, label or domain contains the text. Ticked variables stay visible.
 * The page's Content-Security-Policy allows scripts from 'self' only, so everything here lives
 * in this file and sets no inline styles (it toggles the `hidden` attribute).
 */
"use strict";

(() => {
  const box = document.getElementById("variable-search");
  const input = document.getElementById("variable-filter");
  if (!box || !input) {
    return;
  }
  box.hidden = false;
  const groups = Array.from(document.querySelectorAll("fieldset.variable-group"));
  input.addEventListener("input", () => {
    const wanted = input.value.trim().toLowerCase();
    for (const group of groups) {
      let shown = 0;
      for (const label of group.querySelectorAll("label[data-search]")) {
        const ticked = label.querySelector("input").checked;
        const match = !wanted || ticked || label.dataset.search.toLowerCase().includes(wanted);
        label.hidden = !match;
        shown += match ? 1 : 0;
      }
      group.hidden = shown === 0;
    }
  });
})();
