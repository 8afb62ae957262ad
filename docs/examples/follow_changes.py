"""Keeps a copy of one organization's contacts, audiences, memberships and
call records in a local SQLite file, from contactsd's changes feed.

    CONTACTSD_KEY=sk_live_… python3 follow_changes.py copy.db [--once]
"""
import json, os, sqlite3, sys, time, urllib.error, urllib.request

BASE = os.environ.get("CONTACTSD_URL", "http://127.0.0.1:8000")
copy = sqlite3.connect(sys.argv[1])
copy.execute("CREATE TABLE IF NOT EXISTS objects (type TEXT, id TEXT, object TEXT, PRIMARY KEY (type, id))")
copy.execute("CREATE TABLE IF NOT EXISTS position (seq INTEGER NOT NULL)")
since = (copy.execute("SELECT seq FROM position").fetchone() or (0,))[0]
while True:
    url = f"{BASE}/v1/changes?since={since}&limit=1000"
    try:
        page = json.load(urllib.request.urlopen(urllib.request.Request(url, headers={"x-api-key": os.environ["CONTACTSD_KEY"]})))
    except urllib.error.HTTPError as error:
        if error.code != 410:  # 410 changes_expired: start again from 0
            raise
        page, since = None, 0
    with copy:  # a page and the position it reaches: one transaction
        if page is None:
            copy.execute("DELETE FROM objects")
        else:
            for change in page["data"]:
                key = (change["type"], change["id"])
                if change["deleted"]:
                    copy.execute("DELETE FROM objects WHERE type = ? AND id = ?", key)
                else:
                    copy.execute("INSERT OR REPLACE INTO objects VALUES (?, ?, ?)", (*key, json.dumps(change["object"])))
            since = page["lastSeq"]
        copy.execute("DELETE FROM position")
        copy.execute("INSERT INTO position VALUES (?)", (since,))
    if page is not None and not page["hasMore"]:
        if "--once" in sys.argv:
            break
        time.sleep(1)
