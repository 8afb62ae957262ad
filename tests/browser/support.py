"""What the browser tests share: the built contactsd on a free port in a
temporary directory, and the flags for Debian's headless Chromium."""

import os
import re
import socket
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.path.join(ROOT, "target", "debug", "contactsd")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(directory, binary=BINARY, env_extra=None):
    """Starts `contactsd serve` on a new database in `directory`; returns
    (process, port, the first API key it printed)."""
    port = free_port()
    env = dict(os.environ, ROCKET_PORT=str(port), ROCKET_LOG_LEVEL="off")
    env.update(env_extra or {})
    for name in ("CONTACTSD_DATABASE", "ROCKET_CONFIG"):
        env.pop(name, None)
    server = subprocess.Popen(
        [binary, "serve"], cwd=directory, env=env, stdout=subprocess.PIPE, text=True
    )
    key = None
    for line in server.stdout:
        found = re.search(r"sk_live_[A-Za-z0-9_-]{32}", line)
        key = key or (found and found.group(0))
        if f"listening on http://127.0.0.1:{port}" in line:
            return server, port, key
    raise RuntimeError("contactsd did not start")
