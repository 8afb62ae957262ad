"""One client against everyone else: the hostile cases of issue 17, against
the release binary, bounded to well under a minute.

    python3 tests/hostile/hostile.py [--binary target/release/contactsd]

The server starts with a soft open-file limit of 256 (hard: this machine's,
at most 65,536), short
timeouts (head 2 s, body 2 s) and a bulk budget of one request a minute.
While each attack runs, another organization's ordinary requests must keep
being answered, and at the end the process's peak memory (VmHWM) must stay
under the README's bound. Every request goes to 127.0.0.1.
"""

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

MIB = 1024 * 1024
# The README's bound: 100 MiB (limits.file) + 2 x 100 MiB of parsing, with
# room for the server's own 30-60 MiB.
RSS_BOUND_MIB = 400
SLOW_HEADS = 300

results = []
PID = [0]


def check(name, ok, detail=""):
    results.append((name, ok))
    print(("ok    " if ok else "FAIL  ") + name + (f": {detail}" if detail else ""), flush=True)


def request(port, method, path, key=None, body=None, content_type="application/json", timeout=10):
    """One request on its own connection: (status, JSON body or None, seconds)."""
    started = time.monotonic()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method)
    if key:
        req.add_header("x-api-key", key)
    if body is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:
            status, text = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    return status, parsed, time.monotonic() - started


def vm_hwm_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def keep_serving(port, key, stop, latencies, failures):
    """Another organization's ordinary requests, one after another."""
    n = 0
    while not stop.is_set():
        n += 1
        try:
            status, _, seconds = request(port, "GET", "/v1/contacts?limit=1", key, timeout=5)
            latencies.append(seconds)
            if status != 200:
                failures.append(status)
        except Exception as error:  # a refused or timed-out request is a failure
            failures.append(repr(error))
        stop.wait(0.05)


def guarded(name, port, key, attack):
    """Runs `attack` while another organization keeps asking; checks it was served."""
    stop, latencies, failures = threading.Event(), [], []
    thread = threading.Thread(target=keep_serving, args=(port, key, stop, latencies, failures))
    thread.start()
    try:
        attack()
    finally:
        stop.set()
        thread.join()
    slowest = max(latencies) if latencies else float("inf")
    print(f"      peak RSS so far (VmHWM): {vm_hwm_mib(PID[0]):.0f} MiB", flush=True)
    check(
        f"{name}: other organization served",
        bool(latencies) and not failures and slowest < 1.0,
        f"{len(latencies)} requests, slowest {slowest * 1000:.0f} ms, failures {failures[:3]}",
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/contactsd")
    parser.add_argument("--slow-heads", type=int, default=SLOW_HEADS)
    parser.add_argument("--soft-limit", type=int, default=256)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    workdir = tempfile.mkdtemp()
    db = os.path.join(workdir, "contacts.db")

    def cli(*words):
        out = subprocess.run([binary, "--database", db, *words], capture_output=True, check=True)
        return json.loads(out.stdout)

    attacker, other = cli("org", "create", "attacker"), cli("org", "create", "other")
    b_key = other["apiKey"]
    # Bulk budgets are per key: each attack spends a key of its own.
    stall_key, csv_key, zeros_key, spell_key = (
        cli("key", "create", attacker["id"])["apiKey"] for _ in range(4))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, ROCKET_PORT=str(port), ROCKET_ADDRESS="127.0.0.1",
               ROCKET_HEADER_READ_TIMEOUT="2", ROCKET_BODY_READ_TIMEOUT="2",
               ROCKET_BULK_RATE_LIMIT_PER_MINUTE="1", ROCKET_LOG_LEVEL="critical")
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    hard = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    low_limit = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (args.soft_limit, hard))
    server = subprocess.Popen([binary, "--database", db, "serve"], env=env, cwd=workdir,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              preexec_fn=low_limit, text=True)
    PID[0] = server.pid
    try:
        for line in server.stdout:
            if "open-file limit" in line:
                check("soft open-file limit raised to the hard one", line.split()[-1] == str(hard), line.strip())
            if "listening on" in line:
                break
        threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()

        # 1. More slow request heads than the soft limit the server started with.
        def slow_heads():
            sockets = []
            for _ in range(args.slow_heads):
                s = socket.create_connection(("127.0.0.1", port))
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                sockets.append(s)
            closed = 0
            for s in sockets:
                s.settimeout(15)
                try:
                    closed += s.recv(1) == b""
                except OSError:
                    closed += 1
                s.close()
            check("every slow head closed by the server", closed == args.slow_heads,
                  f"{closed} of {args.slow_heads}")

        guarded("slow heads", port, b_key, slow_heads)

        # 2. A body that stops arriving holds nothing for long.
        def stalled_body():
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(("POST /v1/contacts/bulk HTTP/1.1\r\nHost: x\r\nx-api-key: %s\r\n"
                       "Content-Type: application/json\r\nContent-Length: 20971520\r\n\r\n"
                       '{"contacts": [' % stall_key).encode())
            status, _, _ = request(port, "POST", "/v1/contacts", b_key,
                                   json.dumps({"name": "Bee", "phoneNumber": "+14155552671"}).encode())
            check("another organization's body read meanwhile", status == 201, str(status))
            s.settimeout(15)
            text = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                text += chunk
            s.close()
            check("stalled body answered 408", text.startswith(b"HTTP/1.1 408"), text[:60].decode(errors="replace"))

        guarded("stalled body", port, b_key, stalled_body)

        # 3. A CSV header of millions of columns, and 4. a 20 MiB array of zeros.
        def wide_header():
            body = b"name,phone" + b",x" * (25 * MIB) + b"\nA,+14155550001\n"
            status, answer, _ = request(port, "POST", "/v1/imports/csv", csv_key, body, "text/csv", timeout=30)
            check("wide CSV header is 422", status == 422, f"{status} {answer and answer.get('message')}")

        guarded("wide CSV header", port, b_key, wide_header)

        def zeros():
            body = b'{"contacts":[' + b"0," * (10 * MIB - 8) + b"0]}"
            status, answer, _ = request(port, "POST", "/v1/imports/api/bulk", zeros_key, body, timeout=30)
            check("20 MiB array of zeros is 413", status == 413, f"{status} {answer and answer.get('message')}")

        guarded("array of zeros", port, b_key, zeros)

        # 5. Route spellings spend the bulk budget like the route itself.
        batch = json.dumps({"contacts": [{"name": "A", "phoneNumber": "+14155550009"}]}).encode()
        spelled = []
        for path in ["/v1//contacts/bulk", "/v1/contacts/%62ulk", "//v1/contacts/bulk", "/v1/contacts/bulk"]:
            spelled.append(request(port, "POST", path, spell_key, batch)[0])
        check("bulk budget follows the route, whatever the spelling",
              spelled[0] == 200 and all(s == 429 for s in spelled[1:]), str(spelled))

        peak = vm_hwm_mib(server.pid)
        check(f"peak RSS under {RSS_BOUND_MIB} MiB", peak < RSS_BOUND_MIB, f"{peak:.0f} MiB")
        status, _, _ = request(port, "GET", "/healthz")
        check("still healthy", status == 200, str(status))
    finally:
        server.terminate()
        server.wait(timeout=30)
    passed = sum(1 for _, ok in results if ok)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
