// A few helpers for building the page without a framework.

/**
 * Makes an element: h("button", { class: "primary", onclick }, "Save").
 * Attributes starting with "on" become listeners; `false`/`null` ones are
 * left out; children may be strings, nodes, arrays or null.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "text") element.textContent = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** A label and its control, with a place for the control's error. */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const error = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
  control.setAttribute("aria-describedby", error.id);
  return { element: h("div", {}, h("label", { for: id }, label), hint ? h("p", { class: "note" }, hint) : null, control, error), control, error };
}

/** Shows `message` beside a field made by field() (or clears it). */
export function setFieldError(made, message) {
  made.error.textContent = message || "";
  made.error.hidden = !message;
  if (message) made.control.setAttribute("aria-invalid", "true");
  else made.control.removeAttribute("aria-invalid");
}

/**
 * Opens a modal dialog built by `build(close)`, removed from the page when
 * it closes (so only one dialog's controls exist at a time). Resolves with
 * the value given to close().
 */
export function openDialog(title, build) {
  return new Promise((resolve) => {
    const heading = h("h2", { id: `d-${Date.now()}` }, title);
    const dialog = h("dialog", { "aria-labelledby": heading.id });
    let result;
    const close = (value) => { result = value; dialog.close(); };
    dialog.addEventListener("close", () => { dialog.remove(); resolve(result); });
    dialog.append(h("div", { class: "dialog-body" }, heading, build(close)));
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** "2026-11-29 22:46" in the browser's time zone. */
export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** Runs `f` `ms` after the last call. */
export function debounce(f, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => f(...args), ms);
  };
}

/** "1 contact", "2 contacts". */
export function count(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}
