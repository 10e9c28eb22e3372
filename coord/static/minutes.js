// 约谈笔录 editor: add and remove rows (attendees, question/answer turns, rectification items).
// Removing a row counts as an edit, so the form's autosave (hx-trigger="input ...") fires.
document.addEventListener("click", (event) => {
  const add = event.target.closest("[data-add-row]");
  if (add) {
    const template = document.getElementById(add.dataset.addRow);
    const list = document.getElementById(add.dataset.target);
    if (!template || !list) return;
    list.append(template.content.cloneNode(true));
    list.lastElementChild?.querySelector("input, textarea")?.focus();
    return;
  }
  const remove = event.target.closest("[data-remove-row]");
  if (remove) {
    const form = remove.closest("form");
    remove.closest("[data-row]")?.remove();
    form?.dispatchEvent(new Event("input", { bubbles: true }));
  }
});
