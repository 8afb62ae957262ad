// Do not call: the organization's do-not-call list. Search by digits, add
// numbers (one a line), remove; pages of 25, newest first.

import { request, query, ApiError } from "./api.js";
import { h, field, setFieldError, when, debounce, count } from "./dom.js";

const PAGE_SIZE = 25;

export function dncView(main, { isCurrent }) {
  document.title = "Do not call · contactsd";
  const state = { page: 1, search: "", latest: 0 };

  const search = h("input", { id: "dnc-search", type: "search", autocomplete: "off", inputmode: "tel", placeholder: "Digits, e.g. 98765" });
  const numbers = field("Numbers to add, one a line", h("textarea", { id: "dnc-numbers", spellcheck: "false", placeholder: "+91 98765 43210" }),
    "International form with +. Up to 1,000 at a time; larger lists: contactsd dnc import FILE --org ORG_ID.");
  const reason = field("Reason (optional)", h("input", { id: "dnc-reason", autocomplete: "off", maxlength: 200, placeholder: "Asked not to be called" }));
  const added = h("p", { id: "dnc-added", role: "status", "aria-live": "polite" });
  const addButton = h("button", { type: "submit", class: "primary" }, "Add to do-not-call");
  const addForm = h("form", { class: "card", "data-write": "", novalidate: true },
    h("h2", {}, "Add numbers"), numbers.element, reason.element, added,
    h("div", { class: "actions" }, addButton));
  const status = h("p", { id: "dnc-total", "aria-live": "polite" }, "");
  const problem = h("p", { class: "alert", role: "alert", hidden: true });
  const body = h("tbody");
  const previous = h("button", { type: "button", disabled: true }, "Previous page");
  const next = h("button", { type: "button", disabled: true }, "Next page");

  main.append(
    h("h1", {}, "Do not call"),
    h("p", { class: "note" }, "Numbers on this list are never callable: callable=true listings leave them out, "
      + "whether or not a contact has the number now or later."),
    h("div", { class: "card" }, h("label", { for: "dnc-search" }, "Search numbers"), search),
    h("div", { class: "toolbar" }, h("span", { class: "spacer" }), status),
    problem,
    h("div", { class: "table-wrap" },
      h("table", { class: "cards" },
        h("caption", { class: "visually-hidden" }, "Do-not-call list"),
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Phone number"),
          h("th", { scope: "col" }, "Reason"),
          h("th", { scope: "col" }, "Source"),
          h("th", { scope: "col" }, "Added"),
          h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
        body)),
    h("div", { class: "pager" }, previous, next),
    addForm);

  search.addEventListener("input", debounce(() => { state.search = search.value; state.page = 1; load(); }, 150));
  previous.addEventListener("click", () => { state.page -= 1; load(); });
  next.addEventListener("click", () => { state.page += 1; load(); });
  addForm.addEventListener("submit", addNumbers);
  load();

  async function load() {
    const mine = ++state.latest;
    try {
      const digits = state.search.replace(/\D/g, "");
      const page = await request("GET", `/v1/do-not-call${query({ search: digits, page: state.page, limit: PAGE_SIZE })}`);
      if (mine !== state.latest || !isCurrent()) return;
      problem.hidden = true;
      status.textContent = count(page.total, "number", "numbers");
      body.replaceChildren(...page.data.map(drawEntry));
      if (page.data.length === 0) {
        body.append(h("tr", {}, h("td", { colspan: 5, class: "note" }, digits ? "No listed number matches." : "No numbers are listed.")));
      }
      previous.disabled = state.page <= 1;
      next.disabled = state.page >= page.totalPages;
      body.dataset.search = state.search;
    } catch (error) {
      if (mine !== state.latest) return;
      problem.textContent = error.message;
      problem.hidden = false;
    }
  }

  function drawEntry(entry) {
    const remove = async () => {
      if (!confirm(`Take ${entry.phoneNumber} off the do-not-call list?`)) return;
      try {
        await request("DELETE", `/v1/do-not-call/${encodeURIComponent(entry.phoneNumber)}`);
        status.textContent = `${entry.phoneNumber} removed.`;
        load();
      } catch (error) {
        problem.textContent = error.message;
        problem.hidden = false;
      }
    };
    return h("tr", {},
      h("td", {}, entry.phoneNumber),
      h("td", { "data-label": "Reason" }, entry.reason || ""),
      h("td", { "data-label": "Source" }, entry.source || ""),
      h("td", { "data-label": "Added" }, h("time", { datetime: entry.createdAt }, when(entry.createdAt))),
      h("td", {}, h("button", { type: "button", class: "danger", "data-write": "", "aria-label": `Remove ${entry.phoneNumber}`, onclick: remove }, "Remove")));
  }

  async function addNumbers(event) {
    event.preventDefault();
    setFieldError(numbers, "");
    setFieldError(reason, "");
    added.textContent = "";
    const lines = numbers.control.value.split("\n").map((l) => l.trim()).filter(Boolean);
    if (lines.length === 0) {
      setFieldError(numbers, "Enter at least one number.");
      numbers.control.focus();
      return;
    }
    addButton.disabled = true;
    try {
      const body = { phoneNumbers: lines };
      if (reason.control.value.trim()) body.reason = reason.control.value.trim();
      body.source = "console";
      const outcome = await request("POST", "/v1/do-not-call", { body });
      added.textContent = `${count(outcome.added, "number", "numbers")} added, ${outcome.alreadyListed} already listed.`;
      if (outcome.failed) {
        setFieldError(numbers, outcome.errors.map((e) => `Line ${e.index + 1} (${lines[e.index]}): ${e.reason}`).join(" "));
        numbers.control.value = outcome.errors.map((e) => lines[e.index]).join("\n");
      } else {
        numbers.control.value = "";
      }
      state.page = 1;
      load();
    } catch (error) {
      if (error instanceof ApiError && error.fields.reason) setFieldError(reason, error.fields.reason);
      else setFieldError(numbers, error.message);
    } finally {
      addButton.disabled = false;
    }
  }
}
