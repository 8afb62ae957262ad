// Audiences: list, create, rename, delete; members with search; adding
// and removing members.

import { request, query, ApiError } from "./api.js";
import { h, field, setFieldError, openDialog, when, debounce, count } from "./dom.js";

export function audiencesView(main, { isCurrent }) {
  document.title = "Audiences · contactsd";
  const title = field("Audience title", h("input", { id: "audience-new", autocomplete: "off" }));
  const description = field("Description (optional)", h("input", { id: "audience-description", autocomplete: "off" }));
  const create = h("form", { class: "card", novalidate: true },
    h("h2", {}, "New audience"),
    h("div", { class: "row" }, title.element, description.element,
      h("div", { class: "fixed" }, h("button", { type: "submit", class: "primary", "data-write": "" }, "Create audience"))));
  const status = h("p", { "aria-live": "polite" });
  const problem = h("p", { class: "alert", role: "alert", hidden: true });
  const body = h("tbody");
  main.append(h("h1", {}, "Audiences"), create, status, problem,
    h("div", { class: "table-wrap" }, h("table", { class: "cards" },
      h("caption", { class: "visually-hidden" }, "Audiences"),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Audience"), h("th", { scope: "col" }, "Members"),
        h("th", { scope: "col" }, "Updated"), h("th", { scope: "col" }, "Actions"))),
      body)));

  create.addEventListener("submit", async (event) => {
    event.preventDefault();
    setFieldError(title, "");
    setFieldError(description, "");
    try {
      const made = await request("POST", "/v1/audiences", {
        body: { name: title.control.value, description: description.control.value || null },
      });
      title.control.value = "";
      description.control.value = "";
      status.textContent = `Audience ${made.name} created.`;
      load();
    } catch (error) {
      showErrors(error, { name: title, description });
    }
  });

  function showErrors(error, fields) {
    let shown = false;
    if (error instanceof ApiError) {
      for (const [name, message] of Object.entries(error.fields)) {
        if (fields[name]) { setFieldError(fields[name], message); shown = true; }
      }
    }
    if (!shown) { problem.textContent = error.message; problem.hidden = false; }
  }

  async function load() {
    try {
      const page = await request("GET", "/v1/audiences?limit=100");
      if (!isCurrent()) return;
      problem.hidden = true;
      body.replaceChildren(...page.data.map((audience) => h("tr", {},
        h("td", {}, audience.name, audience.description ? h("div", { class: "note" }, audience.description) : null),
        h("td", { "data-label": "Members" }, String(audience.contactCount)),
        h("td", { "data-label": "Updated" }, when(audience.updatedAt)),
        h("td", {}, h("div", { class: "toolbar" },
          h("button", { type: "button", "aria-label": `Members of ${audience.name}`, onclick: () => members(audience) }, "Members"),
          h("button", { type: "button", "data-write": "", "aria-label": `Rename ${audience.name}`, onclick: () => rename(audience) }, "Rename"),
          h("button", { type: "button", class: "danger", "data-write": "", "aria-label": `Delete ${audience.name}`, onclick: () => remove(audience) }, "Delete"))))));
      if (page.data.length === 0) body.append(h("tr", {}, h("td", { colspan: 4, class: "note" }, "No audiences yet.")));
    } catch (error) {
      problem.textContent = error.message;
      problem.hidden = false;
    }
  }

  async function rename(audience) {
    const renamed = await openDialog(`Rename ${audience.name}`, (close) => {
      const input = field("New title", h("input", { id: "audience-rename", autocomplete: "off", value: audience.name }));
      const form = h("form", { novalidate: true }, input.element,
        h("div", { class: "actions" },
          h("button", { type: "button", onclick: () => close(null) }, "Cancel"),
          h("button", { type: "submit", class: "primary" }, "Save")));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        try {
          close(await request("PATCH", `/v1/audiences/${audience.id}`, { body: { name: input.control.value } }));
        } catch (error) {
          setFieldError(input, (error.fields && error.fields.name) || error.message);
        }
      });
      queueMicrotask(() => input.control.select());
      return form;
    });
    if (renamed) { status.textContent = `Renamed to ${renamed.name}.`; load(); }
  }

  async function remove(audience) {
    if (!confirm(`Delete the audience ${audience.name}? Its contacts are kept.`)) return;
    try {
      await request("DELETE", `/v1/audiences/${audience.id}`);
      status.textContent = `Audience ${audience.name} deleted.`;
      load();
    } catch (error) {
      problem.textContent = error.message;
      problem.hidden = false;
    }
  }

  async function members(audience) {
    await openDialog(`Members of ${audience.name}`, (close) => memberEditor(audience, close));
    load();
  }

  load();
}

/** Members of an audience (searchable, removable), and contacts to add. */
function memberEditor(audience, close) {
  const memberSearch = h("input", { id: "member-search", type: "search", autocomplete: "off" });
  const candidateSearch = h("input", { id: "candidate-search", type: "search", autocomplete: "off" });
  const memberList = h("ul", { class: "plain" });
  const candidateList = h("ul", { class: "plain" });
  const summary = h("p", { "aria-live": "polite" });
  const alert = h("p", { class: "alert", role: "alert", hidden: true });
  let latest = 0;

  async function refresh() {
    const mine = ++latest;
    try {
      const [inside, outside] = await Promise.all([
        request("GET", `/v1/audiences/${audience.id}/contacts${query({ search: memberSearch.value.trim(), limit: 20 })}`),
        request("GET", `/v1/audiences/${audience.id}/available-contacts${query({ search: candidateSearch.value.trim(), limit: 10 })}`),
      ]);
      if (mine !== latest) return;
      summary.textContent = `${count(inside.total, "member", "members")} match.`;
      memberList.replaceChildren(...inside.data.map((c) => h("li", {},
        `${c.name} · ${c.phoneNumber} `,
        h("button", { type: "button", "data-write": "", "aria-label": `Remove ${c.name}`, onclick: () => change("remove", c) }, "Remove"))));
      candidateList.replaceChildren(...outside.data.map((c) => h("li", {},
        `${c.name} · ${c.phoneNumber} `,
        h("button", { type: "button", "data-write": "", "aria-label": `Add ${c.name}`, onclick: () => change("add", c) }, "Add"))));
    } catch (error) {
      alert.textContent = error.message;
      alert.hidden = false;
    }
  }

  async function change(how, contact) {
    const path = how === "add" ? `/v1/audiences/${audience.id}/contacts` : `/v1/audiences/${audience.id}/contacts/remove`;
    try {
      await request("POST", path, { body: { contactIds: [contact.id] } });
      refresh();
    } catch (error) {
      alert.textContent = error.message;
      alert.hidden = false;
    }
  }

  memberSearch.addEventListener("input", debounce(refresh, 150));
  candidateSearch.addEventListener("input", debounce(refresh, 150));
  refresh();
  return h("div", {},
    h("label", { for: "member-search" }, "Search members"), memberSearch, summary, memberList,
    h("label", { for: "candidate-search" }, "Find contacts to add"), candidateSearch, candidateList,
    alert,
    h("div", { class: "actions" }, h("button", { type: "button", class: "primary", onclick: () => close(null) }, "Close")));
}
