"""The API reference page in a real browser.

Starts the built `contactsd` on a free port in a temporary directory,
opens `/docs` in Debian's headless Chromium driven by Playwright, and
checks that the page renders the API's operations while no request leaves
127.0.0.1. `--screenshot PATH` also saves a screenshot of the page.

Run by `.ci/run` after `cargo build`; prints "N passed, N failed".
"""

import argparse
import sys
import tempfile
from urllib.parse import urlparse

from playwright.sync_api import sync_playwright

from support import CHROMIUM, CHROMIUM_FLAGS, start_server


def check_docs_page(page, base, screenshot):
    # Every request that reaches the network layer passes through here;
    # one for another host is recorded and aborted. A console error (a
    # Content-Security-Policy refusal among them) fails the check too.
    sent, outside, problems = [], [], []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    def route(r):
        url = r.request.url
        sent.append(url)
        if urlparse(url).hostname == "127.0.0.1":
            r.continue_()
        else:
            outside.append(url)
            r.abort()

    page.route("**/*", route)
    page.goto(f"{base}/docs")
    # Redoc renders each operation's summary as a heading.
    page.get_by_text("Create a contact").first.wait_for(state="attached", timeout=30_000)
    for summary in ("List and search contacts", "Upsert up to 1,000 contacts by phone number",
                    "Record a call", "List an audience's members"):
        assert page.get_by_text(summary).count() > 0, f"{summary!r} is not on the page"
    headings = page.locator("h2").all_inner_texts()
    assert len(headings) >= 20, f"only {len(headings)} operations rendered"
    assert not outside, f"requests left 127.0.0.1: {outside}"
    assert not problems, f"console errors: {problems}"
    assert any(u.endswith("/v1/openapi.json") for u in sent), sent
    if screenshot:
        page.screenshot(path=screenshot)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--screenshot")
    args = parser.parse_args()
    passed, failed = 0, 0
    with tempfile.TemporaryDirectory() as directory:
        server, port, _ = start_server(directory)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                try:
                    check_docs_page(page, f"http://127.0.0.1:{port}", args.screenshot)
                    passed += 1
                    print("docs page renders offline: ok")
                except Exception as error:  # a timeout fails the check too
                    failed += 1
                    print(f"docs page renders offline: FAILED: {error}")
                finally:
                    browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
