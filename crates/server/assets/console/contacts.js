// Contacts: search as you type, filters, cursor paging, the contact form,
// a contact's detail, selection and bulk actions, export.

import { request, download, query, followChanges, ApiError } from "./api.js";
import { h, field, setFieldError, openDialog, when, debounce, count } from "./dom.js";

const PAGE_SIZE = 25;

export function contactsView(main, { isCurrent }) {
  document.title = "Contacts · contactsd";
  const state = {
    filters: { search: "", language: "", audienceId: "", metaKey: "", metaValue: "", callable: false },
    /** Cursors of the pages before this one, and this page's own. */
    history: [],
    cursor: null,
    next: null,
    rows: [],
    /** Ids of this page's contacts whose number is on the do-not-call list. */
    listed: new Set(),
    selected: new Map(),
    /** The latest request: older answers are dropped when they arrive. */
    latest: 0,
    inFlight: null,
  };

  const search = h("input", { id: "search", type: "search", autocomplete: "off", placeholder: "Name or phone digits" });
  const locale = h("input", { id: "filter-language", autocomplete: "off", placeholder: "hi-IN" });
  const audience = h("select", { id: "filter-audience" }, h("option", { value: "" }, "Any"));
  const metaKey = h("input", { id: "filter-meta-key", autocomplete: "off", placeholder: "city" });
  const metaValue = h("input", { id: "filter-meta-value", autocomplete: "off", placeholder: "Mumbai" });
  const callable = h("input", { id: "filter-callable", type: "checkbox" });
  // The server's hint when the metadata filter read every contact: the
  // index that would answer it at once.
  const metaHint = h("p", { id: "filter-meta-hint", class: "note", role: "status", hidden: true });
  const status = h("p", { id: "contacts-total", "aria-live": "polite" }, "");
  const problem = h("p", { class: "alert", role: "alert", hidden: true });
  const selectAll = h("input", { type: "checkbox", "aria-label": "Select all on this page" });
  const body = h("tbody");
  const previous = h("button", { type: "button", disabled: true }, "Previous page");
  const next = h("button", { type: "button", disabled: true }, "Next page");
  const selection = h("div", { class: "toolbar", "aria-label": "Selected contacts", role: "group", hidden: true });

  main.append(
    h("h1", {}, "Contacts"),
    h("div", { class: "card" },
      h("label", { for: "search" }, "Search contacts"), search,
      h("div", { class: "row" },
        h("div", {}, h("label", { for: "filter-language" }, "Locale filter"), locale),
        h("div", {}, h("label", { for: "filter-audience" }, "In audience"), audience),
        h("div", {}, h("label", { for: "filter-meta-key" }, "Metadata key"), metaKey),
        h("div", {}, h("label", { for: "filter-meta-value" }, "Metadata value"), metaValue, metaHint),
        h("div", { class: "fixed" }, h("label", { for: "filter-callable", class: "inline" }, callable, "Callable now"),
          h("p", { class: "note" }, "Off the do-not-call list, inside calling hours")))),
    h("div", { class: "toolbar" },
      h("button", { type: "button", class: "primary", "data-write": "", onclick: () => editContact(null) }, "New contact"),
      h("button", { type: "button", onclick: exportCsv }, "Export"),
      h("span", { class: "spacer" }), status),
    selection,
    problem,
    h("div", { class: "table-wrap" },
      h("table", { class: "cards" },
        h("caption", { class: "visually-hidden" }, "Contacts"),
        h("thead", {}, h("tr", {},
          h("th", { class: "check", scope: "col" }, selectAll),
          h("th", { scope: "col" }, "Name"),
          h("th", { scope: "col" }, "Phone number"),
          h("th", { scope: "col", class: "language" }, "Language"),
          h("th", { scope: "col", class: "updated" }, "Updated"))),
        body)),
    h("div", { class: "pager" }, previous, next));

  // Filters: search as you type (debounced), the others on change.
  const reload = () => { state.history = []; state.cursor = null; load(); };
  // Short enough that a keystroke's answer is drawn within 100 ms; an
  // answer to an older keystroke is dropped when it arrives.
  const typed = debounce(() => { state.filters.search = search.value; reload(); }, 40);
  search.addEventListener("input", typed);
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); state.filters.search = search.value; reload(); }
  });
  const onFilter = () => {
    state.filters.language = locale.value.trim();
    state.filters.audienceId = audience.value;
    state.filters.metaKey = metaKey.value.trim();
    state.filters.metaValue = metaValue.value;
    state.filters.callable = callable.checked;
    reload();
  };
  for (const control of [locale, metaKey, metaValue]) {
    control.addEventListener("change", onFilter);
    control.addEventListener("input", debounce(onFilter, 300));
  }
  audience.addEventListener("change", onFilter);
  callable.addEventListener("change", onFilter);
  previous.addEventListener("click", () => {
    state.cursor = state.history.pop() ?? null;
    load();
  });
  next.addEventListener("click", () => {
    state.history.push(state.cursor);
    state.cursor = state.next;
    load();
  });
  selectAll.addEventListener("change", () => {
    for (const contact of state.rows) {
      if (selectAll.checked) state.selected.set(contact.id, contact);
      else state.selected.delete(contact.id);
    }
    drawRows();
    drawSelection();
  });

  loadAudiences();
  load();
  // Contacts changed elsewhere (another tab, an import, another program)
  // show up without a reload: the page is read again, at most every
  // 300 ms, while this view is the one shown.
  const refresh = debounce(() => { if (isCurrent()) load(); }, 300);
  const stopFollowing = followChanges("contact,membership", () => {
    if (isCurrent()) refresh();
    else stopFollowing();
  }, (live) => { body.dataset.live = live ? "on" : "off"; });
  // Views change with the address: leaving this one closes its stream.
  window.addEventListener("hashchange", () => { if (!isCurrent()) stopFollowing(); });
  // `#/contacts/ct_…` is a contact's own link: its detail opens over the list.
  const linked = location.hash.match(/^#\/contacts\/([\w-]+)$/);
  if (linked) showContact(linked[1]);

  function listQuery(extra = {}) {
    const f = state.filters;
    const params = { search: searchable(f.search), language: f.language, audienceId: f.audienceId,
      callable: f.callable ? "true" : "", ...extra };
    if (f.metaKey) params[`metadata.${f.metaKey}`] = f.metaValue;
    return params;
  }

  async function load() {
    const mine = ++state.latest;
    if (state.inFlight) state.inFlight.abort();
    const controller = new AbortController();
    state.inFlight = controller;
    try {
      let hint = null;
      const page = await request("GET", `/v1/contacts${query(listQuery({ limit: PAGE_SIZE, cursor: state.cursor }))}`,
        { signal: controller.signal, onHeaders: (headers) => { hint = headers.get("x-contactsd-hint"); } });
      const listed = await listedOf(page.data, controller.signal);
      if (mine !== state.latest || !isCurrent()) return;
      problem.hidden = true;
      state.rows = page.data;
      state.listed = listed;
      state.next = page.nextCursor;
      status.textContent = count(page.total, "contact", "contacts");
      metaHint.hidden = !hint;
      metaHint.textContent = hint ? `Every contact was read to answer this filter. Declaring its index makes it fast: ${hint}` : "";
      drawRows();
      // What the rows answer (the search benchmark waits for it).
      body.dataset.search = state.filters.search;
      previous.disabled = state.history.length === 0 && state.cursor === null;
      next.disabled = !state.next;
    } catch (error) {
      if (error.name === "AbortError" || mine !== state.latest) return;
      problem.textContent = error.message;
      problem.hidden = false;
    }
  }

  function drawRows() {
    body.replaceChildren(...state.rows.map((contact) => {
      const box = h("input", {
        type: "checkbox", "aria-label": `Select ${contact.name}`, checked: state.selected.has(contact.id),
        onchange: (event) => {
          if (event.target.checked) state.selected.set(contact.id, contact);
          else state.selected.delete(contact.id);
          drawSelection();
        },
      });
      const open = h("button", { type: "button", class: "link", onclick: () => showContact(contact.id) }, contact.name);
      const mark = state.listed.has(contact.id) ? h("span", { class: "mark dnc" }, "Do not call") : null;
      const row = h("tr", {},
        h("td", { class: "check" }, box),
        h("td", {}, open, mark),
        h("td", {}, contact.phoneNumber),
        h("td", { class: "language", "data-label": "Language" }, contact.language || ""),
        h("td", { class: "updated", "data-label": "Updated" }, h("time", { datetime: contact.updatedAt }, when(contact.updatedAt))));
      row.addEventListener("click", (event) => {
        if (event.target === row || event.target.tagName === "TD") showContact(contact.id);
      });
      return row;
    }));
    if (state.rows.length === 0) {
      body.append(h("tr", {}, h("td", { colspan: 5, class: "note" }, "No contacts match.")));
    }
    selectAll.checked = state.rows.length > 0 && state.rows.every((c) => state.selected.has(c.id));
  }

  function drawSelection() {
    const n = state.selected.size;
    selection.hidden = n === 0;
    if (n === 0) {
      selection.replaceChildren();
      return;
    }
    selection.replaceChildren(
      h("span", {}, `${count(n, "contact", "contacts")} selected`),
      h("button", { type: "button", "data-write": "", onclick: addSelectedToAudience }, "Add to audience"),
      h("button", { type: "button", class: "danger", "data-write": "", onclick: deleteSelected }, "Delete selected"),
      h("button", { type: "button", onclick: () => { state.selected.clear(); drawRows(); drawSelection(); } }, "Clear selection"));
  }

  async function loadAudiences() {
    try {
      const page = await request("GET", "/v1/audiences?limit=100");
      if (!isCurrent()) return;
      const chosen = audience.value;
      audience.replaceChildren(h("option", { value: "" }, "Any"),
        ...page.data.map((a) => h("option", { value: a.id, selected: a.id === chosen }, a.name)));
    } catch { /* the filter stays at "Any" */ }
  }

  async function exportCsv() {
    try {
      await download(`/v1/contacts/export${query({ format: "csv", ...listQuery() })}`, "contacts.csv");
    } catch (error) {
      problem.textContent = `Export failed: ${error.message}`;
      problem.hidden = false;
    }
  }

  async function deleteSelected() {
    const ids = [...state.selected.keys()];
    if (!confirm(`Delete ${count(ids.length, "contact", "contacts")}? Their call records are kept.`)) return;
    try {
      for (let i = 0; i < ids.length; i += 1000) {
        await request("POST", "/v1/contacts/bulk-delete", { body: { contactIds: ids.slice(i, i + 1000) } });
      }
      state.selected.clear();
      drawSelection();
      load();
    } catch (error) {
      problem.textContent = error.message;
      problem.hidden = false;
    }
  }

  async function addSelectedToAudience() {
    const ids = [...state.selected.keys()];
    let audiences = [];
    try { audiences = (await request("GET", "/v1/audiences?limit=100")).data; } catch { audiences = []; }
    const added = await openDialog("Add to audience", (close) => {
      const choice = h("select", { id: "add-audience-choice" },
        h("option", { value: "" }, "A new audience…"),
        ...audiences.map((a) => h("option", { value: a.id }, a.name)));
      const title = field("Title of the new audience", h("input", { id: "add-audience-new", autocomplete: "off" }));
      const alert = h("p", { class: "alert", role: "alert", hidden: true });
      choice.addEventListener("change", () => { title.element.hidden = choice.value !== ""; });
      const form = h("form", {},
        h("p", {}, `${count(ids.length, "contact", "contacts")} selected.`),
        h("label", { for: choice.id }, "Audience"), choice, title.element, alert,
        h("div", { class: "actions" },
          h("button", { type: "button", onclick: () => close(null) }, "Cancel"),
          h("button", { type: "submit", class: "primary" }, "Add")));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        setFieldError(title, "");
        try {
          let audienceId = choice.value;
          if (!audienceId) {
            const made = await request("POST", "/v1/audiences", { body: { name: title.control.value } });
            audienceId = made.id;
          }
          let result = null;
          for (let i = 0; i < ids.length; i += 1000) {
            result = await request("POST", `/v1/audiences/${audienceId}/contacts`, { body: { contactIds: ids.slice(i, i + 1000) } });
          }
          close(result);
        } catch (error) {
          if (error instanceof ApiError && error.fields.name) setFieldError(title, error.fields.name);
          else { alert.textContent = error.message; alert.hidden = false; }
        }
      });
      return form;
    });
    if (added) {
      problem.hidden = true;
      status.textContent = `${count(added.added, "contact", "contacts")} added; the audience has ${count(added.contactCount, "member", "members")}.`;
      state.selected.clear();
      drawSelection();
      loadAudiences();
      drawRows();
    }
  }

  /** The form dialog, for a new contact (`contact` null) or an edit. */
  async function editContact(contact) {
    const saved = await openDialog(contact ? `Edit ${contact.name}` : "New contact", (close) => contactForm(contact, close));
    if (saved) {
      status.textContent = contact ? "Contact saved." : "Contact created.";
      await load();
      if (contact) showContact(saved.id);
    }
  }

  async function showContact(id) {
    let contact;
    try {
      contact = await request("GET", `/v1/contacts/${id}`);
    } catch (error) {
      problem.textContent = error.message;
      problem.hidden = false;
      return;
    }
    // The address names the open contact (without a new view: replaceState
    // fires no hashchange), so it can be bookmarked or sent.
    history.replaceState(null, "", `#/contacts/${contact.id}`);
    const action = await openDialog(contact.name, (close) => contactDetail(contact, close));
    if (isCurrent()) history.replaceState(null, "", "#/contacts");
    if (action === "edit") editContact(contact);
    if (action === "listed") load();
    if (action === "deleted") { state.selected.delete(id); drawSelection(); load(); }
  }
}

/**
 * The ids of `contacts` whose number is on the do-not-call list: each
 * one's callability, asked at once (a page is at most 25 contacts).
 */
async function listedOf(contacts, signal) {
  const answers = await Promise.all(contacts.map((c) =>
    request("GET", `/v1/contacts/${c.id}/callability`, { signal })
      .then((a) => (a.reasons.includes("do_not_call") ? c.id : null))
      .catch((error) => { if (error.name === "AbortError") throw error; return null; })));
  return new Set(answers.filter(Boolean));
}

/** "Callable now", or why not and from when, for a contact's detail. */
function describeCallability(answer) {
  if (answer.callable) return "Callable now";
  if (answer.reasons.includes("do_not_call")) return "Not callable: on the do-not-call list";
  return answer.nextCallableAt
    ? `Outside calling hours; callable from ${when(answer.nextCallableAt)}`
    : "Outside calling hours for at least 7 days";
}

/**
 * What of the search box is sent: nothing until it holds a letter or three
 * digits (a lone "+" or "9" is the start of a phone number, not a query
 * worth a scan of every name).
 */
function searchable(text) {
  const trimmed = text.trim();
  const digits = (trimmed.match(/\d/g) || []).length;
  return /\p{L}/u.test(trimmed) || digits >= 3 ? trimmed : "";
}

/** The contact form: Name, Phone number, Language, metadata (JSON). */
function contactForm(contact, close) {
  const name = field("Name", h("input", { id: "contact-name", autocomplete: "off", value: contact ? contact.name : "" }));
  const phone = field("Phone number", h("input", { id: "contact-phone", type: "tel", autocomplete: "off", value: contact ? contact.phoneNumber : "" }),
    "International form with +, e.g. +91 98765 43210");
  const language = field("Language", h("input", { id: "contact-language", autocomplete: "off", value: contact && contact.language ? contact.language : "" }),
    "Optional BCP 47 tag, e.g. hi-IN");
  const initialMetadata = contact ? JSON.stringify(contact.metadata, null, 2) : "{}";
  const metadataArea = h("textarea", { id: "contact-metadata", spellcheck: "false" });
  metadataArea.value = initialMetadata;
  const metadata = field("Metadata (a JSON object)", metadataArea, "Up to 64 keys, e.g. {\"city\": \"Mumbai\"}");
  const alert = h("p", { class: "alert", role: "alert", hidden: true });
  const save = h("button", { type: "submit", class: "primary" }, "Save");
  const form = h("form", { novalidate: true },
    name.element, phone.element, language.element, metadata.element, alert,
    h("div", { class: "actions" },
      h("button", { type: "button", onclick: () => close(null) }, "Cancel"), save));
  const byField = { name, phoneNumber: phone, language, metadata };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const made of Object.values(byField)) setFieldError(made, "");
    alert.hidden = true;
    // Metadata travels as the text typed (numbers keep every digit); an
    // edit sends it only when it changed.
    const fields = [
      `"name":${JSON.stringify(name.control.value)}`,
      `"phoneNumber":${JSON.stringify(phone.control.value)}`,
      `"language":${language.control.value.trim() ? JSON.stringify(language.control.value.trim()) : "null"}`,
    ];
    const text = metadataArea.value.trim();
    if (!contact || text !== initialMetadata.trim()) {
      try {
        const parsed = JSON.parse(text || "{}");
        if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error();
      } catch {
        setFieldError(metadata, "Metadata must be a JSON object, e.g. {\"city\": \"Mumbai\"}");
        metadataArea.focus();
        return;
      }
      fields.push(`"metadata":${text || "{}"}`);
    }
    save.disabled = true;
    try {
      const body = `{${fields.join(",")}}`;
      const saved = contact
        ? await request("PATCH", `/v1/contacts/${contact.id}`, { body })
        : await request("POST", "/v1/contacts", { body });
      close(saved);
    } catch (error) {
      let shown = false;
      if (error instanceof ApiError) {
        if (error.status === 409 && error.body.contactId) {
          setFieldError(phone, `${error.message} (contact ${error.body.contactId})`);
          shown = true;
        }
        for (const [fieldName, message] of Object.entries(error.fields)) {
          const target = byField[fieldName.split(".")[0]];
          if (target) { setFieldError(target, message); shown = true; }
        }
      }
      if (!shown) { alert.textContent = error.message; alert.hidden = false; }
      const invalid = form.querySelector("[aria-invalid='true']");
      if (invalid) invalid.focus();
    } finally {
      save.disabled = false;
    }
  });
  queueMicrotask(() => name.control.focus());
  return form;
}

/** A contact's detail: its fields, audiences and call records. */
function contactDetail(contact, close) {
  const audiences = h("ul", {}, h("li", { class: "note" }, "Loading…"));
  const calls = h("ul", {}, h("li", { class: "note" }, "Loading…"));
  const alert = h("p", { class: "alert", role: "alert", hidden: true });
  const mark = h("p", { class: "mark dnc", id: "detail-dnc", hidden: true }, "Do not call");
  const calling = h("dd", { id: "detail-callability" }, "…");
  const zones = h("dd", { id: "detail-zones" }, "…");
  const addToList = h("button", { type: "button", "data-write": "", hidden: true }, "Add to do-not-call");
  const showCallability = () => request("GET", `/v1/contacts/${contact.id}/callability`).then((answer) => {
    const listed = answer.reasons.includes("do_not_call");
    mark.hidden = !listed;
    addToList.hidden = listed;
    calling.textContent = describeCallability(answer);
    zones.textContent = answer.timeZones.join(", ");
  }).catch((error) => { calling.textContent = error.message; });
  showCallability();
  addToList.addEventListener("click", async () => {
    if (!confirm(`Add ${contact.phoneNumber} to the do-not-call list? It will not be callable until removed.`)) return;
    addToList.disabled = true;
    try {
      await request("POST", "/v1/do-not-call", { body: { phoneNumbers: [contact.phoneNumber], source: "console" } });
      await showCallability();
      listedHere = true;
    } catch (error) {
      alert.textContent = error.message;
      alert.hidden = false;
    } finally {
      addToList.disabled = false;
    }
  });
  let listedHere = false;
  request("GET", `/v1/audiences${query({ contactId: contact.id, limit: 100 })}`).then((page) => {
    audiences.replaceChildren(...(page.data.length ? page.data.map((a) => h("li", {}, a.name)) : [h("li", { class: "note" }, "In no audience.")]));
  }).catch((error) => audiences.replaceChildren(h("li", { class: "alert" }, error.message)));
  request("GET", `/v1/calls${query({ contactId: contact.id, limit: 20 })}`).then((page) => {
    calls.replaceChildren(...(page.data.length
      ? page.data.map((c) => h("li", {}, `${when(c.startedAt)} · ${c.direction} · ${c.status}${c.durationSeconds !== null ? ` · ${c.durationSeconds} s` : ""}`))
      : [h("li", { class: "note" }, "No call records.")]));
  }).catch((error) => calls.replaceChildren(h("li", { class: "alert" }, error.message)));
  const remove = async () => {
    if (!confirm(`Delete ${contact.name}? Their call records are kept.`)) return;
    try {
      await request("DELETE", `/v1/contacts/${contact.id}`);
      close("deleted");
    } catch (error) {
      alert.textContent = error.message;
      alert.hidden = false;
    }
  };
  return h("div", {},
    mark,
    h("dl", { class: "facts" },
      h("dt", {}, "Phone number"), h("dd", {}, contact.phoneNumber),
      h("dt", {}, "Calling"), calling,
      h("dt", {}, "Time zones"), zones,
      h("dt", {}, "Language"), h("dd", {}, contact.language || "—"),
      h("dt", {}, "Created"), h("dd", {}, when(contact.createdAt)),
      h("dt", {}, "Updated"), h("dd", {}, when(contact.updatedAt)),
      h("dt", {}, "Id"), h("dd", {}, contact.id)),
    h("h3", {}, "Metadata"), h("pre", { class: "json" }, JSON.stringify(contact.metadata, null, 2)),
    h("h3", {}, "Audiences"), audiences,
    h("h3", {}, "Call records"), calls,
    alert,
    h("div", { class: "actions" },
      h("button", { type: "button", class: "danger", "data-write": "", onclick: remove }, "Delete"),
      addToList,
      h("button", { type: "button", "data-write": "", onclick: () => close("edit") }, "Edit"),
      h("button", { type: "button", class: "primary", onclick: () => close(listedHere ? "listed" : null) }, "Close")));
}
