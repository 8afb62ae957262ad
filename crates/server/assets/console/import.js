// Import: a CSV file through POST /v1/imports/csv, its progress until the
// final status, then the counts and the first errors by row.

import { request, query } from "./api.js";
import { h, count, when } from "./dom.js";

export function importView(main, { isCurrent }) {
  document.title = "Import · contactsd";
  const file = h("input", { id: "csv-file", type: "file", accept: ".csv,text/csv" });
  const audience = h("select", { id: "import-audience" }, h("option", { value: "" }, "None"));
  const button = h("button", { type: "submit", class: "primary", "data-write": "" }, "Import");
  const bar = h("div");
  const progress = h("div", {
    class: "progress", role: "progressbar", "aria-label": "Import progress",
    "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0",
  }, bar);
  const state = h("p", { "aria-live": "polite" });
  const alert = h("p", { class: "alert", role: "alert", hidden: true });
  const result = h("div");
  const form = h("form", { class: "card", novalidate: true },
    h("p", { class: "note" },
      "The first line names the columns: name and a phone column (phoneNumber, phone, mobile) are required, " +
      "language is optional, every other column becomes a metadata key. Rows upsert by phone number."),
    h("label", { for: "csv-file" }, "CSV file"), file,
    h("label", { for: "import-audience" }, "Add every contact to audience"), audience,
    h("div", { class: "actions" }, button));
  const recent = h("ul");
  main.append(h("h1", {}, "Import contacts"), form, h("h2", {}, "Progress"), progress, state, alert, result,
    h("h2", {}, "Recent imports"), recent);
  showRecent();

  request("GET", "/v1/audiences?limit=100").then((page) => {
    audience.append(...page.data.map((a) => h("option", { value: a.id }, a.name)));
  }).catch(() => {});

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    alert.hidden = true;
    result.replaceChildren();
    const chosen = file.files && file.files[0];
    if (!chosen) {
      alert.textContent = "Choose a CSV file first.";
      alert.hidden = false;
      file.focus();
      return;
    }
    button.disabled = true;
    setProgress(0, 1);
    state.textContent = `Uploading ${chosen.name}…`;
    try {
      const accepted = await request("POST", `/v1/imports/csv${query({ audienceId: audience.value })}`,
        { body: chosen, type: "text/csv" });
      await follow(accepted.importId, accepted.total);
    } catch (error) {
      const line = error.body && error.body.line ? ` (line ${error.body.line})` : "";
      alert.textContent = `${error.message}${line}`;
      alert.hidden = false;
      state.textContent = "";
    } finally {
      button.disabled = false;
    }
  });

  function setProgress(done, total) {
    const percent = total > 0 ? Math.round((done / total) * 100) : 0;
    progress.setAttribute("aria-valuenow", String(percent));
    progress.setAttribute("aria-valuetext", `${done} of ${total} rows`);
    bar.style.width = `${percent}%`;
  }

  /** Polls the import's status until it is final, moving the bar. */
  async function follow(id, total) {
    setProgress(0, total);
    for (;;) {
      const status = await request("GET", `/v1/imports/${id}/status`);
      if (!isCurrent()) return;
      setProgress(status.processed, status.total);
      state.textContent = `${statusWords(status.status)}: ${status.processed} of ${count(status.total, "row", "rows")} processed.`;
      if (!["PENDING", "PROCESSING"].includes(status.status)) {
        showResult(status);
        showRecent();
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  function showResult(status) {
    const errors = status.errors || [];
    result.replaceChildren(
      h("p", { class: status.failed ? "" : "ok" },
        `${statusWords(status.status)}: ${status.created} created, ${status.updated} updated, ${status.failed} failed.`),
      errors.length ? h("div", { class: "table-wrap" }, h("table", { class: "cards" },
        h("caption", {}, status.errorCount > errors.length
          ? `The first ${errors.length} of ${status.errorCount} rows that failed`
          : "Rows that failed"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Row"), h("th", { scope: "col" }, "Field"), h("th", { scope: "col" }, "Reason"))),
        h("tbody", {}, errors.slice(0, 100).map((e) => h("tr", {},
          h("td", { "data-label": "Row" }, String(e.index)), h("td", { "data-label": "Field" }, e.field),
          h("td", { "data-label": "Reason" }, e.reason)))))) : null,
      errors.length ? h("p", { class: "note" }, "Rows are counted from 0, the first line after the header, as the API counts them.") : null);
  }

  function showRecent() {
    request("GET", "/v1/imports?limit=5").then((page) => {
      if (!isCurrent()) return;
      recent.replaceChildren(...(page.data.length
        ? page.data.map((i) => h("li", {}, `${when(i.createdAt)} · ${statusWords(i.status)} · ${i.created} created, ${i.updated} updated, ${i.failed} failed of ${i.total}`))
        : [h("li", { class: "note" }, "None yet.")]));
    }).catch(() => recent.replaceChildren());
  }
}

/** An import's status as people say it. */
function statusWords(status) {
  return {
    PENDING: "Waiting",
    PROCESSING: "Importing",
    COMPLETED: "Done",
    COMPLETED_WITH_ERRORS: "Done, some rows failed",
    FAILED: "Failed",
  }[status] || status;
}
