// coord: small progressive enhancements. No inline scripts anywhere (CSP: script-src 'self').
document.addEventListener("htmx:responseError", (event) => {
  // Show the server's Chinese error fragment where the request was aimed, instead of nothing.
  const xhr = event.detail.xhr;
  const target = event.detail.target;
  if (xhr && xhr.responseText && target && xhr.getResponseHeader("Content-Type")?.includes("text/html")) {
    target.innerHTML = xhr.responseText;
  }
});

// --- agency pickers: filter as you type, grouped lists, keyboard alone -------------------------------
const norm = (s) => (s || "").trim().toLowerCase();
// Messages come from the page (data-msg-*, translated by the server), with {name} placeholders.
const fill = (text, values) => (text || "").replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ""));

function filterPicker(picker) {
  const q = norm(picker.querySelector("[data-picker-search]")?.value);
  let shown = 0;
  const items = picker.querySelectorAll("[data-picker-item]");
  items.forEach((item) => {
    const hit = !q || norm(item.dataset.name).includes(q);
    item.hidden = !hit;
    if (hit) shown += 1;
  });
  picker.querySelectorAll("[data-picker-group]").forEach((group) => {
    group.hidden = !group.querySelector("[data-picker-item]:not([hidden])");
  });
  const empty = picker.querySelector("[data-picker-empty]");
  if (empty) empty.hidden = shown > 0;
  const count = picker.querySelector("[data-picker-count]");
  if (count) {
    const ticked = picker.querySelectorAll("[data-picker-item] input:checked").length;
    const values = { shown, total: items.length, ticked };
    count.textContent = fill(q ? picker.dataset.msgShown : picker.dataset.msgAll, values)
      + (ticked ? fill(picker.dataset.msgTicked, values) : "");
  }
}

function visibleBoxes(picker) {
  return [...picker.querySelectorAll("[data-picker-item]:not([hidden]) input")]
    .filter((box) => !box.closest("[data-picker-group]")?.hidden);
}

document.addEventListener("input", (event) => {
  const picker = event.target.closest("[data-picker]");
  if (picker && event.target.matches("[data-picker-search]")) filterPicker(picker);
  const selectFilter = event.target.closest("[data-select-filter]");
  if (selectFilter) filterSelect(selectFilter);
  if (event.target.matches("[data-limit]")) countChars(event.target);
});

document.addEventListener("change", (event) => {
  const picker = event.target.closest("[data-picker]");
  if (picker && event.target.type === "checkbox") filterPicker(picker);
});

document.addEventListener("keydown", (event) => {
  const picker = event.target.closest("[data-picker]");
  if (picker) {
    const boxes = visibleBoxes(picker);
    const search = picker.querySelector("[data-picker-search]");
    if (event.target === search) {
      if (event.key === "Enter" || event.key === "ArrowDown") {  // Enter must not submit the form here
        event.preventDefault();
        boxes[0]?.focus();
      } else if (event.key === "Escape" && search.value) {
        event.preventDefault();
        search.value = "";
        filterPicker(picker);
      }
      return;
    }
    const at = boxes.indexOf(event.target);
    if (at >= 0 && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      const next = event.key === "ArrowDown" ? boxes[at + 1] : boxes[at - 1];
      (next || (event.key === "ArrowUp" ? search : null))?.focus();
    } else if (at >= 0 && event.key === "Enter") {
      event.preventDefault();  // Enter ticks, as Space does, instead of submitting a half-filled form
      event.target.click();
    }
    return;
  }
  if (event.target.matches("[data-select-filter]") && event.key === "Enter") {
    event.preventDefault();
    document.getElementById(event.target.dataset.selectFilter)?.focus();
  }
});

// A search box before a <select>: hides the options that do not match and picks the first that does.
function filterSelect(input) {
  const select = document.getElementById(input.dataset.selectFilter);
  if (!select) return;
  const q = norm(input.value);
  let first = null;
  for (const option of select.options) {
    const hit = !q || !option.value || norm(option.textContent).includes(q);
    option.hidden = !hit;
    if (hit && option.value && !first) first = option;
  }
  for (const group of select.querySelectorAll("optgroup")) {
    group.hidden = ![...group.children].some((o) => !o.hidden);
  }
  const current = select.selectedOptions[0];
  if (q && first && (!current || current.hidden || !current.value) && select.value !== first.value) {
    select.value = first.value;
    select.dispatchEvent(new Event("change", { bubbles: true }));
  }
}

// Text limits: the counter beside a field says how much is left; nothing is ever cut.
function countChars(field) {
  const hint = document.querySelector(`[data-count-for="${field.id}"]`);
  if (!hint) return;
  const limit = Number(hint.dataset.limit);
  const n = [...field.value].length;
  hint.textContent = fill(hint.dataset.msgCount, { n, limit })
    + (n > limit ? fill(hint.dataset.msgOver, { over: n - limit }) : "");
  hint.classList.toggle("error", n > limit);
}

function initPage(root) {
  root.querySelectorAll("[data-picker]").forEach(filterPicker);
  root.querySelectorAll("[data-limit]").forEach((field) => { if (field.value) countChars(field); });
}
document.addEventListener("DOMContentLoaded", () => initPage(document));
document.addEventListener("htmx:load", (event) => initPage(event.detail.elt));
