"""How long Litestream takes to restore a large contactsd database (issue 12).

    cargo bench --bench search --no-run && cargo build --release && \
        python3 benches/recovery/litestream_restore.py

Uses the search benchmark's data (2,000,000 contacts: 1,000,000 in one
organization and 1,000,000 in 100 others, built once under
target/bench-data/ by `cargo bench --bench search`). Copies it, replicates
it once to a replica directory (`litestream replicate -once
-force-snapshot`), then times `litestream restore` of that replica into
another directory (as on a new machine) and `contactsd check` of the
result.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "target", "bench-data", "search-1m.db")
BINARY = os.path.join(ROOT, "target", "release", "contactsd")


def timed(command):
    started = time.time()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.time() - started


def main():
    if not os.path.exists(DATA):
        sys.exit(f"{DATA} is missing: run `cargo bench --bench search` once to build it")
    with tempfile.TemporaryDirectory() as primary, tempfile.TemporaryDirectory() as other:
        database = os.path.join(primary, "contacts.db")
        shutil.copyfile(DATA, database)
        replica = os.path.join(primary, "replica")
        config = os.path.join(primary, "litestream.yml")
        with open(config, "w") as f:
            f.write(f"dbs:\n  - path: {database}\n    replica:\n      type: file\n      path: {replica}\n")
        replicate_s = timed(["litestream", "replicate", "-config", config, "-once", "-force-snapshot"])
        restored = os.path.join(other, "contacts.db")
        restore_s = timed(["litestream", "restore", "-o", restored, f"file://{replica}"])
        started = time.time()
        checked = json.loads(subprocess.run([BINARY, "--database", restored, "check"],
                                            capture_output=True, text=True, check=True).stdout)
        check_s = time.time() - started
        size = os.path.getsize(restored)
        replica_size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(replica) for f in fs)
    assert checked["integrityCheck"] == "ok" and checked["searchIndex"] == "ok", checked
    print(f"litestream restore of {checked['contacts']} contacts ({size / 2**20:.0f} MiB; "
          f"replica {replica_size / 2**20:.0f} MiB)")
    print("| step | seconds |")
    print("|---|---:|")
    print(f"| first replication (snapshot) | {replicate_s:.1f} |")
    print(f"| `litestream restore` into another directory | {restore_s:.1f} |")
    print(f"| `contactsd check` of the restored file | {check_s:.1f} |")


if __name__ == "__main__":
    main()
