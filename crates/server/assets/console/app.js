// The console: sign-in, navigation, and the four views. It talks only to
// the public /v1 API with the key the user signs in with.

import { request, session, whenReadOnly, whenUnauthorized, ApiError } from "./api.js";
import { h } from "./dom.js";
import { contactsView } from "./contacts.js";
import { audiencesView } from "./audiences.js";
import { importView } from "./import.js";
import { dncView } from "./dnc.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const signOutButton = document.getElementById("sign-out");

const views = { contacts: contactsView, audiences: audiencesView, dnc: dncView, import: importView };
/** Incremented on every navigation, so a view left behind stops drawing. */
let generation = 0;

function signInView() {
  const input = h("input", { id: "api-key", type: "password", autocomplete: "off", spellcheck: "false", required: true });
  const alert = h("p", { class: "alert", role: "alert", hidden: true });
  const button = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h("form", { class: "card sign-in", novalidate: true },
    h("h1", {}, "Sign in"),
    h("p", { class: "note" }, "Use an API key of your organization (sk_live_…). It is kept in this tab only, until you sign out or close it."),
    h("label", { for: "api-key" }, "API key"), input, alert,
    h("div", { class: "actions" }, button));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    alert.hidden = true;
    if (!key) {
      alert.textContent = "Enter an API key.";
      alert.hidden = false;
      input.focus();
      return;
    }
    button.disabled = true;
    try {
      await request("GET", "/v1/contacts?limit=1", { key });
      session.signIn(key);
      input.value = "";
      go("#/contacts");
    } catch (error) {
      alert.textContent = error instanceof ApiError && error.status === 401
        ? "That API key was refused: it is unknown or revoked."
        : `Could not sign in: ${error.message}`;
      alert.hidden = false;
      input.select();
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

const readOnlyNote = document.getElementById("read-only");

/** Hides every write control once the API said the key only reads. */
function showReadOnly() {
  const readOnly = Boolean(session.key) && session.readOnly;
  document.body.classList.toggle("read-only", readOnly);
  readOnlyNote.hidden = !readOnly;
}

function route() {
  generation += 1;
  const signedIn = Boolean(session.key);
  nav.hidden = !signedIn;
  signOutButton.hidden = !signedIn;
  showReadOnly();
  main.replaceChildren();
  if (!signedIn) {
    document.title = "Sign in · contactsd";
    main.append(signInView());
    document.getElementById("api-key").focus();
    return;
  }
  const name = (location.hash.match(/^#\/(\w+)/) || [])[1];
  const view = views[name] ? name : "contacts";
  for (const link of nav.querySelectorAll("a")) {
    if (link.getAttribute("href") === `#/${view}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const mine = generation;
  views[view](main, { isCurrent: () => mine === generation });
}

/**
 * Shows the view of `hash`: a change of hash routes through the
 * `hashchange` event alone, so a view is never drawn twice (a second
 * drawing would replace a field the user is already typing in).
 */
function go(hash) {
  const current = location.hash === "#" ? "" : location.hash;
  if (current === hash) route();
  else location.hash = hash;
}

function signOut() {
  session.signOut();
  go("");
}

signOutButton.addEventListener("click", signOut);
whenUnauthorized(signOut);
whenReadOnly(showReadOnly);
window.addEventListener("hashchange", route);
route();
