"""Follows README.md as a new user would, and checks every printed example.

Starts the built binary with no arguments in an empty directory (the
quick start's `cargo run --release`), compares what it prints with the
README's first-start block, then runs every `$ ` command of the README's
```console blocks in order, with `contactsd` on the PATH and KEY set to
the printed key, and compares each command's output with the README's.

Ids, keys, secrets, times, request ids and byte counts differ from run
to run and are compared by shape; an id printed earlier in the README
stands for the one the run printed in its place. A `…` in the README
stands for any text. Two steps stand in for the reader: a `$ cat FILE`
whose file does not exist yet writes the README's lines to it first, and
`systemctl stop contactsd` stops the server. `crm.csv` (the README's
200,000-row CSV) is generated.

    cargo build --release && python3 tests/readme/check_examples.py target/release/contactsd

Prints one line per command and "N passed, N failed"; exits 1 on a
mismatch.
"""

import os
import re
import signal
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
README = os.path.join(ROOT, "README.md")
# Ids may end in `-` or `_`, so their edges are not `\b`.
ID = re.compile(r"(?<![A-Za-z0-9_-])(?:ct|aud|call|org|key|imp)_[A-Za-z0-9_-]{23}(?![A-Za-z0-9_-])")
KEY = re.compile(r"sk_live_[A-Za-z0-9_-]{32}")
SECRET = re.compile(r"whsec_[A-Za-z0-9_-]{32}")
# Shapes that differ between runs, replaced by a placeholder on both sides.
SHAPES = [
    (ID, "<id>"),
    (KEY, "<key>"),
    (SECRET, "<secret>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"), "<time>"),
    (re.compile(r"(?i)^(x-request-id: )\S+$"), r"\1<rid>"),
    (re.compile(r'"bytes":\d+'), '"bytes":<n>'),
    (re.compile(r'"prefix":"sk_live_[A-Za-z0-9_-]{4}"'), '"prefix":"<prefix>"'),
    (re.compile(r"open-file limit \d+"), "open-file limit <n>"),
]
# Headers every answer carries that the README leaves out.
LEFT_OUT_HEADERS = ("server:", "permissions-policy:", "content-length:", "date:",
                    "x-content-type-options:", "x-frame-options:", "referrer-policy:",
                    "cross-origin-", "content-security-policy:", "cache-control:")


def normalise(text):
    lines = []
    for line in text.replace("\r", "").split("\n"):
        for pattern, placeholder in SHAPES:
            line = pattern.sub(placeholder, line)
        lines.append(line.rstrip())
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def matches(expected, actual):
    """Whether `actual` lines match `expected` lines, `…` matching any text."""
    if len(expected) != len(actual):
        return False
    for want, got in zip(expected, actual):
        pattern = ".*".join(re.escape(part) for part in want.split("…"))
        if not re.fullmatch(pattern, got):
            return False
    return True


def blocks(text, fence):
    """Each ``` block opened with `fence`: its lines."""
    found, current = [], None
    for line in text.split("\n"):
        if current is None and line.strip() == "```" + fence:
            current = []
        elif current is not None and line.startswith("```"):
            found.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return found


def commands(block):
    """A console block's commands, each with the lines printed after it."""
    steps = []
    for line in block:
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    return steps


def write_crm_csv(path, rows=200_000):
    with open(path, "w") as f:
        f.write("name,phone,city\n")
        for i in range(rows):
            f.write(f"Customer {i:06d},+1415{5000000 + i:07d},City {i % 97}\n")


class Run:
    def __init__(self, binary, directory):
        self.binary = os.path.abspath(binary)
        self.directory = directory
        self.env = dict(os.environ, ROCKET_PORT="8000", ROCKET_LOG_LEVEL="off",
                        PATH=os.path.dirname(self.binary) + os.pathsep + os.environ["PATH"])
        for name in ("CONTACTSD_DATABASE", "ROCKET_CONFIG", "CONTACTSD_LOG_FORMAT"):
            self.env.pop(name, None)
        self.mapping = {}
        self.server = None
        self.passed = self.failed = 0

    def check(self, label, expected_lines, actual_text, output_to_learn_from=None):
        expected = normalise("\n".join(expected_lines))
        actual = normalise(actual_text)
        if matches(expected, actual):
            self.passed += 1
            print(f"ok: {label}")
        else:
            self.failed += 1
            print(f"MISMATCH: {label}\n  README:\n    " + "\n    ".join(expected)
                  + "\n  real:\n    " + "\n    ".join(actual))
        self.learn("\n".join(expected_lines), output_to_learn_from or actual_text)

    def learn(self, printed, real):
        """Maps the README's ids, keys and secrets to the run's, in order."""
        for pattern in (ID, KEY, SECRET):
            for old, new in zip(pattern.findall(printed), pattern.findall(real)):
                self.mapping.setdefault(old, new)

    def start(self, first_start_block):
        self.server = subprocess.Popen([self.binary], cwd=self.directory, env=self.env,
                                       stdout=subprocess.PIPE, text=True)
        printed = []
        for line in self.server.stdout:
            printed.append(line.rstrip("\n"))
            if "listening on" in line:
                break
        self.check("first start", first_start_block, "\n".join(printed))
        key = next((KEY.search(l).group(0) for l in printed if KEY.search(l)), None)
        if key:
            self.env["KEY"] = key

    def stop(self):
        if self.server and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            self.server.wait(timeout=60)

    def run(self, command, printed):
        for old, new in self.mapping.items():
            command = command.replace(old, new)
        shown = command if len(command) < 100 else command[:97] + "..."
        if command.startswith("systemctl stop contactsd"):
            self.stop()
            self.check(shown, printed, "")
            return
        cat = re.fullmatch(r"cat (\S+)", command)
        if cat and not os.path.exists(os.path.join(self.directory, cat.group(1))):
            with open(os.path.join(self.directory, cat.group(1)), "w") as f:
                f.write("\n".join(printed) + "\n")
        # Imports are applied in the background: the README's next command
        # (its status) shows the finished import.
        status = re.search(r"/v1/imports/(imp_\S+)/status", command)
        if status:
            self.wait_for_import(status.group(1))
        result = subprocess.run(command + " 2>&1", shell=True, cwd=self.directory,
                                env=self.env, capture_output=True, text=True, timeout=600)
        output = "\n".join(l for l in result.stdout.replace("\r", "").split("\n")
                           if not l.lower().startswith(LEFT_OUT_HEADERS))
        # A progress bar is drawn on a terminal only.
        printed = [l for l in printed if "████" not in l and "░░░" not in l]
        self.check(shown, printed, output)

    def wait_for_import(self, import_id):
        import json
        import time
        import urllib.request
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            request = urllib.request.Request(f"http://127.0.0.1:8000/v1/imports/{import_id}/status",
                                             headers={"x-api-key": self.env.get("KEY", "")})
            with urllib.request.urlopen(request) as answer:
                if json.load(answer)["status"] not in ("PENDING", "PROCESSING"):
                    return
            time.sleep(0.05)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    text = open(README).read()
    with tempfile.TemporaryDirectory() as directory:
        write_crm_csv(os.path.join(directory, "crm.csv"))
        run = Run(sys.argv[1], directory)
        try:
            run.start(blocks(text, "text")[0])
            for block in blocks(text, "console"):
                for command, printed in commands(block):
                    run.run(command, printed)
        finally:
            run.stop()
        print(f"{run.passed} passed, {run.failed} failed")
        return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
