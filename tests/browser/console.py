"""The console in a real browser (CONTRACT.md "The console").

Starts the built `contactsd` on a free port in a temporary directory,
seeds contacts through the API, and drives the console at `/` in Debian's
headless Chromium with Playwright, finding everything by the accessible
names the contract gives: sign in with a wrong key then the right one,
search, create with a bad phone number (the API's message shows beside the
field), fix it and save, edit, delete, select two rows and add them to a
new audience, import a CSV of 1,000 rows while the progress bar moves to
the end, export, audiences, the do-not-call list with its marks and the
Callable now filter, the metadata filter's index hint, keyboard-only sign-in, a 360 px wide screen,
and no request to any other host and no CSP violation throughout.

`--screenshots DIR` saves the main views as PNG files in DIR.
Run by `.ci/run` after `cargo build`; prints "N passed, N failed".
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request
from urllib.parse import urlparse

from playwright.sync_api import expect, sync_playwright

from support import BINARY, CHROMIUM, CHROMIUM_FLAGS, start_server

SEED = [
    ("Priya Sharma", "+919876543210", "hi-IN", {"city": "Mumbai"}),
    ("Ravi Kumar", "+919123456789", "hi-IN", {"city": "Delhi"}),
    ("Anjali Iyer", "+919900011111", "ta-IN", {"city": "Chennai"}),
    ("Émile Dubois", "+33612345678", "fr-FR", {"city": "Paris"}),
]


def api(base, key, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}{path}", data=data, method=method,
                                     headers={"x-api-key": key, "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read() or b"null")


def seed(base, key):
    items = [{"name": n, "phoneNumber": p, "language": l, "metadata": m} for n, p, l, m in SEED]
    # Enough more for a second page (25 a page).
    items += [{"name": f"Filler Person {i:02}", "phoneNumber": f"+1415555{i:04}"} for i in range(30)]
    api(base, key, "POST", "/v1/contacts/bulk", {"contacts": items})
    contact = api(base, key, "GET", "/v1/contacts?search=Priya")["data"][0]
    api(base, key, "POST", "/v1/calls", {"contactId": contact["id"], "status": "completed",
                                          "durationSeconds": 94})


class Steps:
    """Runs named steps in order; after a failure the rest are skipped."""

    def __init__(self):
        self.passed, self.failed, self.broken = 0, 0, False

    def run(self, name, f):
        if self.broken:
            print(f"{name}: skipped")
            self.failed += 1
            return
        try:
            f()
            self.passed += 1
            print(f"{name}: ok")
        except Exception as error:  # a timeout fails the step too
            self.failed += 1
            self.broken = True
            print(f"{name}: FAILED: {error}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--screenshots")
    args = parser.parse_args()
    steps = Steps()
    with tempfile.TemporaryDirectory() as directory:
        # A listing that reads more than 20 rows for an undeclared
        # metadata key says so (the default is 100,000).
        server, port, key = start_server(directory, env_extra={"ROCKET_SCAN_HINT_ROWS": "20"})
        base = f"http://127.0.0.1:{port}"
        try:
            seed(base, key)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
                context = browser.new_context(viewport={"width": 1280, "height": 860},
                                              accept_downloads=True)
                page = context.new_page()
                outside, problems = [], []

                def route(r):
                    if urlparse(r.request.url).hostname == "127.0.0.1":
                        r.continue_()
                    else:
                        outside.append(r.request.url)
                        r.abort()

                context.route("**/*", route)
                page.on("console", lambda m: problems.append(m.text)
                        if m.type == "error" and "Content Security Policy" in m.text else None)
                page.on("pageerror", lambda e: problems.append(str(e)))
                shots = args.screenshots

                def shot(name):
                    if shots:
                        os.makedirs(shots, exist_ok=True)
                        page.screenshot(path=os.path.join(shots, f"{name}.png"))

                def sign_in():
                    page.goto(base + "/")
                    page.get_by_label("API key").fill("sk_live_" + "x" * 32)
                    page.get_by_role("button", name="Sign in").click()
                    expect(page.get_by_role("alert")).to_contain_text("refused")
                    stored = page.evaluate("() => sessionStorage.getItem('contactsd.key')")
                    assert stored is None, stored
                    shot("console-sign-in")
                    page.get_by_label("API key").fill(key)
                    page.get_by_role("button", name="Sign in").click()
                    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
                    expect(page.get_by_text("34 contacts")).to_be_visible()
                    for header in ("Name", "Phone number", "Language", "Updated"):
                        expect(page.get_by_role("columnheader", name=header, exact=True)).to_be_visible()
                    # The key is in sessionStorage, never in the URL or a cookie.
                    assert key not in page.url
                    assert not context.cookies()
                    assert page.evaluate("() => sessionStorage.getItem('contactsd.key')") == key

                def live_updates():
                    # Once the list follows the changes stream, a contact
                    # made or deleted elsewhere shows up without a reload.
                    expect(page.locator("tbody[data-live=on]")).to_have_count(1)
                    made = api(base, key, "POST", "/v1/contacts",
                               {"name": "Live Arrival", "phoneNumber": "+14155550299"})
                    expect(page.get_by_role("button", name="Live Arrival")).to_be_visible()
                    expect(page.get_by_text("35 contacts")).to_be_visible()
                    api(base, key, "DELETE", f"/v1/contacts/{made['id']}")
                    expect(page.get_by_role("button", name="Live Arrival")).to_have_count(0)
                    expect(page.get_by_text("34 contacts")).to_be_visible()

                def search_and_page():
                    page.get_by_role("button", name="Next page").click()
                    expect(page.get_by_role("button", name="Previous page")).to_be_enabled()
                    expect(page.get_by_role("row")).to_have_count(1 + 9)
                    page.get_by_role("button", name="Previous page").click()
                    expect(page.get_by_role("row")).to_have_count(1 + 25)
                    search = page.get_by_label("Search contacts")
                    search.press_sequentially("pri", delay=30)
                    expect(page.get_by_text("1 contact", exact=True)).to_be_visible()
                    expect(page.get_by_role("button", name="Priya Sharma")).to_be_visible()
                    search.fill("98765")
                    expect(page.get_by_role("button", name="Priya Sharma")).to_be_visible()
                    search.fill("")
                    expect(page.get_by_text("34 contacts")).to_be_visible()
                    page.get_by_label("Locale filter").fill("hi-IN")
                    expect(page.get_by_text("2 contacts", exact=True)).to_be_visible()
                    page.get_by_label("Locale filter").fill("")
                    page.get_by_label("Metadata key").fill("city")
                    page.get_by_label("Metadata value").fill("Paris")
                    expect(page.get_by_text("1 contact", exact=True)).to_be_visible()
                    expect(page.get_by_role("button", name="Émile Dubois")).to_be_visible()
                    # The server read all 34 rows (over the 20 it was
                    # started with): the hint names the index to declare.
                    hint = page.locator("#filter-meta-hint")
                    expect(hint).to_be_visible()
                    expect(hint).to_contain_text("PUT /v1/indexes/metadata.city")
                    api(base, key, "PUT", "/v1/indexes/metadata.city")
                    page.get_by_label("Metadata value").fill("Pari")
                    page.get_by_label("Metadata value").fill("Paris")
                    expect(page.get_by_text("1 contact", exact=True)).to_be_visible()
                    expect(hint).to_be_hidden()
                    page.get_by_label("Metadata key").fill("")
                    page.get_by_label("Metadata value").fill("")
                    expect(page.get_by_text("34 contacts")).to_be_visible()
                    shot("console-contacts")

                def create_with_a_bad_number_then_fix():
                    page.get_by_role("button", name="New contact").click()
                    dialog = page.get_by_role("dialog")
                    expect(dialog).to_be_visible()
                    dialog.get_by_label("Name").fill("Meera Nair")
                    dialog.get_by_label("Phone number").fill("12345")
                    dialog.get_by_label("Language").fill("ml-IN")
                    dialog.get_by_label("Metadata (a JSON object)").fill('{"city": "Kochi", "score": 0.21549671757760558}')
                    dialog.get_by_role("button", name="Save").click()
                    message = dialog.locator("#contact-phone-error")
                    expect(message).to_contain_text("E.164")
                    expect(dialog.get_by_label("Phone number")).to_have_attribute("aria-invalid", "true")
                    shot("console-new-contact-error")
                    dialog.get_by_label("Phone number").fill("+91 94470 12345")
                    dialog.get_by_role("button", name="Save").click()
                    expect(page.get_by_role("dialog")).to_have_count(0)
                    expect(page.get_by_text("35 contacts")).to_be_visible()
                    stored = api(base, key, "GET", "/v1/contacts?search=Meera")["data"][0]
                    assert stored["phoneNumber"] == "+919447012345", stored
                    assert stored["metadata"] == {"city": "Kochi", "score": 0.21549671757760558}, stored

                def edit():
                    page.get_by_label("Search contacts").fill("Meera")
                    page.get_by_role("button", name="Meera Nair").click()
                    dialog = page.get_by_role("dialog")
                    expect(dialog.get_by_text("+919447012345")).to_be_visible()
                    dialog.get_by_role("button", name="Edit").click()
                    dialog = page.get_by_role("dialog")
                    dialog.get_by_label("Name").fill("Meera K. Nair")
                    dialog.get_by_role("button", name="Save").click()
                    dialog = page.get_by_role("dialog")
                    expect(dialog.get_by_role("heading", name="Meera K. Nair")).to_be_visible()
                    dialog.get_by_role("button", name="Close").click()
                    expect(page.get_by_role("button", name="Meera K. Nair")).to_be_visible()

                def detail_shows_audiences_and_calls():
                    page.get_by_label("Search contacts").fill("Priya")
                    page.get_by_role("button", name="Priya Sharma").click()
                    dialog = page.get_by_role("dialog")
                    expect(dialog.get_by_text("completed")).to_be_visible()
                    expect(dialog.get_by_text("In no audience.")).to_be_visible()
                    shot("console-contact")
                    priya = api(base, key, "GET", "/v1/contacts?search=Priya%20Sharma")["data"][0]
                    # The open contact has a link of its own.
                    expect(page).to_have_url(re.compile(re.escape(f"#/contacts/{priya['id']}") + "$"))
                    dialog.get_by_role("button", name="Close").click()
                    expect(page).to_have_url(re.compile("#/contacts$"))
                    page.goto(f"{base}/#/contacts/{priya['id']}")
                    dialog = page.get_by_role("dialog")
                    expect(dialog.get_by_role("heading", name="Priya Sharma")).to_be_visible()
                    dialog.get_by_role("button", name="Close").click()
                    expect(page.get_by_role("dialog")).to_have_count(0)

                def delete():
                    page.get_by_label("Search contacts").fill("Meera")
                    page.get_by_role("button", name="Meera K. Nair").click()
                    page.once("dialog", lambda d: d.accept())
                    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
                    expect(page.get_by_text("0 contacts")).to_be_visible()
                    assert api(base, key, "GET", "/v1/contacts?search=Meera")["total"] == 0

                def select_two_and_add_to_a_new_audience():
                    # The selection holds across searches.
                    page.get_by_label("Search contacts").fill("Ravi")
                    page.get_by_role("checkbox", name="Select Ravi Kumar").check()
                    page.get_by_label("Search contacts").fill("Anjali")
                    page.get_by_role("checkbox", name="Select Anjali Iyer").check()
                    expect(page.get_by_text("2 contacts selected")).to_be_visible()
                    page.get_by_role("button", name="Add to audience").click()
                    dialog = page.get_by_role("dialog")
                    dialog.get_by_label("Title of the new audience").fill("Callback list")
                    dialog.get_by_role("button", name="Add", exact=True).click()
                    expect(page.get_by_role("dialog")).to_have_count(0)
                    audiences = api(base, key, "GET", "/v1/audiences?search=Callback")["data"]
                    assert len(audiences) == 1 and audiences[0]["contactCount"] == 2, audiences
                    page.get_by_label("Search contacts").fill("")
                    page.get_by_label("In audience").select_option(label="Callback list")
                    expect(page.get_by_text("2 contacts", exact=True)).to_be_visible()
                    page.get_by_label("In audience").select_option(label="Any")

                def audiences_view():
                    page.get_by_role("link", name="Audiences").click()
                    expect(page.get_by_role("heading", name="Audiences")).to_be_visible()
                    page.get_by_label("Audience title").fill("Renew soon")
                    page.get_by_role("button", name="Create audience").click()
                    expect(page.get_by_role("cell", name="Renew soon", exact=True)).to_be_visible()
                    page.get_by_role("button", name="Rename Renew soon").click()
                    page.get_by_role("dialog").get_by_label("New title").fill("Renewals")
                    page.get_by_role("dialog").get_by_role("button", name="Save").click()
                    expect(page.get_by_role("cell", name="Renewals", exact=True)).to_be_visible()
                    page.get_by_role("button", name="Members of Renewals").click()
                    dialog = page.get_by_role("dialog")
                    dialog.get_by_label("Find contacts to add").fill("Priya")
                    dialog.get_by_role("button", name="Add Priya Sharma").click()
                    expect(dialog.get_by_text("1 member match.")).to_be_visible()
                    dialog.get_by_label("Search members").fill("zzz")
                    expect(dialog.get_by_text("0 members match.")).to_be_visible()
                    dialog.get_by_label("Search members").fill("")
                    dialog.get_by_role("button", name="Remove Priya Sharma").click()
                    expect(dialog.get_by_text("0 members match.")).to_be_visible()
                    dialog.get_by_role("button", name="Close").click()
                    shot("console-audiences")
                    page.once("dialog", lambda d: d.accept())
                    page.get_by_role("button", name="Delete Renewals").click()
                    expect(page.get_by_role("cell", name="Renewals", exact=True)).to_have_count(0)

                def import_a_csv():
                    path = os.path.join(directory, "people.csv")
                    with open(path, "w") as f:
                        f.write("Name,Phone Number,City\n")
                        for i in range(1000):
                            f.write(f"Imported {i:04},+1212555{i:04},City {i % 7}\n")
                        f.write("Broken row,12,\n")
                    page.get_by_role("link", name="Import").click()
                    page.get_by_label("CSV file").set_input_files(path)
                    bar = page.get_by_role("progressbar")
                    seen = []
                    page.expose_function("recordProgress", lambda v: seen.append(v))
                    page.evaluate("""() => {
                        const bar = document.querySelector('[role=progressbar]');
                        new MutationObserver(() => window.recordProgress(bar.getAttribute('aria-valuenow')))
                          .observe(bar, { attributes: true, attributeFilter: ['aria-valuenow'] });
                    }""")
                    page.get_by_role("button", name="Import", exact=True).click()
                    expect(bar).to_have_attribute("aria-valuenow", "100", timeout=60_000)
                    expect(page.get_by_text("Done, some rows failed: 1000 created, 0 updated, 1 failed.")).to_be_visible()
                    expect(page.get_by_role("cell", name="phoneNumber", exact=True)).to_be_visible()
                    # The failed row is numbered as the API numbers it: from 0.
                    failed = api(base, key, "GET", "/v1/imports?limit=1")["data"][0]
                    status = api(base, key, "GET", f"/v1/imports/{failed['id']}/status")
                    expect(page.get_by_role("cell", name=str(status["errors"][0]["index"]), exact=True)).to_be_visible()
                    assert page.get_by_text("COMPLETED_WITH_ERRORS").count() == 0
                    assert seen and seen[-1] == "100", seen
                    shot("console-import")
                    assert api(base, key, "GET", "/v1/contacts?limit=1")["total"] == 1034

                def export():
                    page.get_by_role("link", name="Contacts").click()
                    page.get_by_label("Search contacts").fill("Imported 00")
                    expect(page.get_by_text("100 contacts", exact=True)).to_be_visible()
                    with page.expect_download() as info:
                        page.get_by_role("button", name="Export").click()
                    download = info.value
                    assert download.suggested_filename == "contacts.csv", download.suggested_filename
                    text = open(download.path()).read()
                    lines = text.strip().split("\n")
                    assert lines[0] == "id,name,phoneNumber,language,metadata,createdAt,updatedAt", lines[0]
                    assert len(lines) == 101, len(lines)

                def do_not_call():
                    # Hours around the clock, so "Callable now" depends on
                    # the list alone, whatever the time of the run.
                    api(base, key, "PUT", "/v1/settings/calling-hours",
                        {"start": "00:00", "end": "24:00", "days": [1, 2, 3, 4, 5, 6, 7]})
                    page.get_by_role("link", name="Contacts").click()
                    page.get_by_label("Search contacts").fill("Priya")
                    page.get_by_role("button", name="Priya Sharma").click()
                    dialog = page.get_by_role("dialog")
                    expect(dialog.get_by_text("Asia/Calcutta")).to_be_visible()
                    expect(dialog.get_by_text("Callable now")).to_be_visible()
                    expect(dialog.get_by_text("Do not call", exact=True)).to_be_hidden()
                    page.once("dialog", lambda d: d.accept())
                    dialog.get_by_role("button", name="Add to do-not-call").click()
                    expect(dialog.get_by_text("Do not call", exact=True)).to_be_visible()
                    expect(dialog.get_by_text("Not callable: on the do-not-call list")).to_be_visible()
                    expect(dialog.get_by_role("button", name="Add to do-not-call")).to_be_hidden()
                    assert api(base, key, "GET", "/v1/do-not-call/%2B919876543210")["source"] == "console"
                    dialog.get_by_role("button", name="Close").click()
                    row = page.get_by_role("row").filter(has_text="Priya Sharma")
                    expect(row.get_by_text("Do not call", exact=True)).to_be_visible()
                    # "Callable now" leaves her out, and only her.
                    page.get_by_label("Search contacts").fill("")
                    everyone = api(base, key, "GET", "/v1/contacts?limit=1")["total"]
                    page.get_by_label("Callable now").check()
                    expect(page.get_by_text(f"{everyone - 1} contacts", exact=True)).to_be_visible()
                    page.get_by_label("Search contacts").fill("Priya")
                    expect(page.get_by_text("0 contacts", exact=True)).to_be_visible()
                    shot("console-callable-now")
                    # The list itself: her number, then two more added here.
                    page.get_by_role("link", name="Do not call").click()
                    expect(page.get_by_role("heading", name="Do not call")).to_be_visible()
                    expect(page.get_by_role("cell", name="+919876543210", exact=True)).to_be_visible()
                    page.get_by_label("Numbers to add, one a line").fill("+1 415 555 0100\nnot a number\n+44 7911 123456")
                    page.get_by_label("Reason (optional)").fill("Asked on a call")
                    page.get_by_role("button", name="Add to do-not-call").click()
                    expect(page.get_by_text("2 numbers added, 0 already listed.")).to_be_visible()
                    expect(page.get_by_text("Line 2 (not a number)")).to_be_visible()
                    expect(page.get_by_text("3 numbers", exact=True)).to_be_visible()
                    page.get_by_label("Search numbers").fill("7911")
                    expect(page.get_by_text("1 number", exact=True)).to_be_visible()
                    expect(page.get_by_role("cell", name="Asked on a call", exact=True)).to_be_visible()
                    shot("console-do-not-call")
                    page.once("dialog", lambda d: d.accept())
                    page.get_by_role("button", name="Remove +447911123456").click()
                    expect(page.get_by_text("0 numbers", exact=True)).to_be_visible()
                    assert api(base, key, "GET", "/v1/do-not-call")["total"] == 2

                def sign_out_and_keyboard_sign_in():
                    page.get_by_role("button", name="Sign out").click()
                    expect(page.get_by_label("API key")).to_be_focused()
                    assert page.evaluate("() => sessionStorage.getItem('contactsd.key')") is None
                    page.keyboard.type(key)
                    page.keyboard.press("Enter")
                    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
                    # Tab reaches the search field from the navigation.
                    page.get_by_role("link", name="Contacts").focus()
                    for _ in range(12):
                        page.keyboard.press("Tab")
                        if page.evaluate("() => document.activeElement.id") == "search":
                            break
                    assert page.evaluate("() => document.activeElement.id") == "search"

                def narrow_screen():
                    page.set_viewport_size({"width": 360, "height": 740})
                    page.reload()
                    expect(page.get_by_label("Search contacts")).to_be_visible()
                    expect(page.get_by_role("button", name="New contact")).to_be_visible()
                    width = page.evaluate("() => document.documentElement.scrollWidth")
                    assert width <= 360, f"the page is {width} px wide at 360"
                    # Rows are cards: no table scrolls sideways, and every
                    # column of a row is on the screen, labelled.
                    def nothing_scrolls_sideways():
                        hidden = page.evaluate(
                            "() => [...document.querySelectorAll('.table-wrap')]"
                            ".map(w => w.scrollWidth - w.clientWidth)")
                        assert hidden and max(hidden) <= 0, f"tables scroll by {hidden} px at 360"
                    nothing_scrolls_sideways()
                    first = page.locator("tbody tr").first
                    for cell in ["td.check", "td:nth-child(2)", "td:nth-child(3)", "td.updated"]:
                        box = first.locator(cell).bounding_box()
                        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360, f"{cell}: {box}"
                    label = first.locator("td.updated").evaluate(
                        "td => getComputedStyle(td, '::before').content")
                    assert label == '"Updated: "', label
                    shot("console-narrow")
                    page.get_by_role("link", name="Audiences").click()
                    expect(page.get_by_role("heading", name="Audiences")).to_be_visible()
                    expect(page.locator("tbody tr").first).to_be_visible()
                    nothing_scrolls_sideways()
                    page.get_by_role("link", name="Contacts").click()
                    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()

                def read_only_key():
                    org_id = api(base, key, "GET", "/v1/contacts?limit=1")["data"][0]["organizationId"]
                    made = subprocess.run([BINARY, "key", "create", org_id, "--read-only"], cwd=directory,
                                          capture_output=True, text=True, check=True)
                    read_only = json.loads(made.stdout)["apiKey"]
                    page.set_viewport_size({"width": 1280, "height": 860})
                    page.get_by_role("button", name="Sign out").click()
                    page.get_by_label("API key").fill(read_only)
                    page.get_by_role("button", name="Sign in").click()
                    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
                    expect(page.get_by_text("This API key is read-only")).to_be_hidden()
                    # Reading works; the first write is refused with the API's words...
                    page.get_by_role("button", name="New contact").click()
                    dialog = page.get_by_role("dialog")
                    dialog.get_by_label("Name").fill("Not saved")
                    dialog.get_by_label("Phone number").fill("+14155550199")
                    dialog.get_by_role("button", name="Save").click()
                    expect(dialog.get_by_text("read-only")).to_be_visible()
                    dialog.get_by_role("button", name="Cancel").click()
                    # ...and from then on no control offers to write.
                    expect(page.get_by_text("This API key is read-only: you can look, not change.")).to_be_visible()
                    expect(page.get_by_role("button", name="New contact")).to_be_hidden()
                    page.get_by_role("link", name="Audiences").click()
                    expect(page.get_by_role("button", name="Create audience")).to_be_hidden()
                    page.get_by_role("link", name="Import").click()
                    expect(page.get_by_role("button", name="Import", exact=True)).to_be_hidden()
                    assert api(base, key, "GET", "/v1/contacts?search=Not%20saved")["total"] == 0
                    shot("console-read-only")

                def nothing_left_the_machine():
                    assert not outside, f"requests left 127.0.0.1: {outside}"
                    assert not problems, f"console errors: {problems}"
                    policy = urllib.request.urlopen(base + "/").headers["Content-Security-Policy"]
                    assert "script-src 'self'" in policy and "unsafe-inline" not in policy, policy

                for name, step in [
                    ("sign in with a wrong key, then the right one", sign_in),
                    ("a contact made elsewhere shows up without a reload", live_updates),
                    ("search, filters and paging", search_and_page),
                    ("create with a bad phone number, fix it, save", create_with_a_bad_number_then_fix),
                    ("edit", edit),
                    ("a contact's audiences and call records", detail_shows_audiences_and_calls),
                    ("delete", delete),
                    ("select two rows and add them to a new audience", select_two_and_add_to_a_new_audience),
                    ("audiences: create, rename, members, delete", audiences_view),
                    ("import a CSV of 1,000 rows with progress", import_a_csv),
                    ("export the filtered list", export),
                    ("do not call: add from a contact, the mark, Callable now, the list", do_not_call),
                    ("sign out; sign in by keyboard alone", sign_out_and_keyboard_sign_in),
                    ("360 px wide", narrow_screen),
                    ("a read-only key: the API's refusal, then no write controls", read_only_key),
                    ("no request to another host, no CSP violation", nothing_left_the_machine),
                ]:
                    steps.run(name, step)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"{steps.passed} passed, {steps.failed} failed")
    return 1 if steps.failed else 0


if __name__ == "__main__":
    sys.exit(main())
