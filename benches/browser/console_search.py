"""Search as you type in the console, at 1,000,000 contacts (issue 11).

    cargo bench --bench search --no-run && cargo build --release && \
        python3 benches/browser/console_search.py

Uses the search benchmark's data (1,000,000 contacts in one organization
and 1,000,000 in 100 others, built once under target/bench-data/ by
`cargo bench --bench search`), served by the release binary from a copy.
In Debian's headless Chromium (Playwright), it signs in to the console
and types queries one key at a time, waiting after each key until the
table shows the answer to exactly what is in the search box; for each
keystroke it records the time from the key press to that render (the
debounce included), measured in the page with performance.now(). Prints
p50, p99 and the maximum.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

from playwright.sync_api import sync_playwright

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "browser"))
from support import CHROMIUM, CHROMIUM_FLAGS, ROOT, start_server  # noqa: E402

DATA = os.path.join(ROOT, "target", "bench-data", "search-1m.db")
BINARY = os.path.join(ROOT, "target", "release", "contactsd")
QUERIES = ["priya sharma", "vanderpoel", "98765", "ram", "anjali iyer", "mukherjee",
           "+91 9123", "kavya", "o'brien", "zoë", "hiroshi tanaka", "rohan das"]
ROUNDS = 3


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    if not os.path.exists(DATA):
        sys.exit(f"{DATA} is missing: run `cargo bench --bench search` once to build it")
    with tempfile.TemporaryDirectory() as directory:
        database = os.path.join(directory, "contacts.db")
        shutil.copyfile(DATA, database)
        orgs = subprocess.run([BINARY, "--database", database, "org", "list"],
                              capture_output=True, text=True, check=True).stdout
        big = next(json.loads(l)["id"] for l in orgs.splitlines() if json.loads(l)["name"] == "big")
        key = json.loads(subprocess.run([BINARY, "--database", database, "key", "create", big],
                                        capture_output=True, text=True, check=True).stdout)["apiKey"]
        server, port, _ = start_server(directory, BINARY, {"CONTACTSD_DATABASE": database})
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
                page = browser.new_page(viewport={"width": 1280, "height": 860})
                page.goto(f"http://127.0.0.1:{port}/")
                page.get_by_label("API key").fill(key)
                page.get_by_role("button", name="Sign in").click()
                page.get_by_text("1000000 contacts").wait_for()
                box = page.get_by_label("Search contacts")
                timings, typed_at = [], []
                for _ in range(ROUNDS):
                    for query in QUERIES:
                        box.fill("")
                        page.wait_for_selector('tbody[data-search=""]')
                        for i in range(1, len(query) + 1):
                            typed = query[:i]
                            page.evaluate("() => { window.__t0 = performance.now(); }")
                            page.keyboard.type(query[i - 1])
                            page.wait_for_function(
                                "(q) => document.querySelector('tbody').dataset.search === q",
                                arg=typed, timeout=10_000)
                            timings.append(page.evaluate("() => performance.now() - window.__t0"))
                            typed_at.append(typed)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"search as you type, {len(timings)} keystrokes at 1,000,000 contacts "
          f"(key press to rendered answer, 40 ms debounce included)")
    slowest = sorted(zip(timings, typed_at), reverse=True)[:5]
    print("slowest: " + ", ".join(f"{q!r} {t:.0f} ms" for t, q in slowest))
    print("| p50 (ms) | p99 (ms) | max (ms) | target p99 (ms) |")
    print("|---:|---:|---:|---:|")
    print(f"| {percentile(timings, 50):.1f} | {percentile(timings, 99):.1f} | {max(timings):.1f} | 100 |")


if __name__ == "__main__":
    main()
