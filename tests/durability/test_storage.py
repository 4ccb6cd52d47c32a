"""Storage faults under a running rmapd: the database file unlinked, moved
away or replaced, the disk full (a small tmpfs), the file made immutable
(chattr +i, or chmod under an unprivileged daemon), and another process
holding the write lock.  In each case a
write gets 503 storage-unavailable with the reason and changes nothing (the
session's version and state stay as the journal has them), /readyz says 503
with the same reason, reads go on, and writes and readiness come back by
themselves once the fault is gone.  After a restart every acknowledged op is
in the journal and the state equals a fresh replay of it.  Needs root
(mount, chattr, setpriv).  SQLite only, being about its file;
PostgreSQL's analogs are test_pg_storage.py (which reuses the busy test
with a lock of its own) and test_pg_outage.py."""
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
from rmapd_client import Daemon, Results, run_state  # noqa: E402

RMAPD = sys.argv[1]
PROBLEM = "urn:rmapd:problem:storage-unavailable"
JSON = {"Content-Type": "application/json"}
MM = {"op": "mmap", "pid": 1, "addr": "0x7f0000000000", "len": 65536,
      "prot": "rw-", "flags": ["private", "anonymous", "fixed"]}


def write_op(n):
    return {"op": "access", "pid": 1, "addr": hex(0x7f0000000000 + 4096 * (n % 16)),
            "write": True}


class Session:
    """A session and the ops acknowledged to it, in order."""

    def __init__(self, d, name="s"):
        self.d = d
        status, body, _, _, _ = d.request(
            "POST", "/api/v1/sessions", raw=json.dumps({"name": name}).encode(),
            headers=JSON)
        assert status == 201, (status, body)
        self.id = body["id"]
        self.url = "/api/v1/sessions/%d" % self.id
        self.acked = []
        for op in ({"op": "spawn"}, MM, write_op(0)):
            assert self.post(op)[0] == 200

    def post(self, op):
        status, body, ctype, _, _ = self.d.request(
            "POST", self.url + "/ops", raw=json.dumps(op).encode(), headers=JSON)
        if status == 200:
            self.acked += [r["op"] for r in body["results"]]
        return status, body, ctype

    def version(self):
        return self.d.json("GET", self.url + "?view=summary")["version"]

    def state(self):
        live = self.d.json("GET", self.url)
        live.pop("id")
        live.pop("name")
        return live


def refused(sess, reason):
    """A write is refused with the fault's reason and changes nothing."""
    before = sess.version()
    state = sess.state()
    status, body, ctype = sess.post(write_op(len(sess.acked) + 1))
    assert status == 503, (status, body)
    assert ctype == "application/problem+json", ctype
    assert body["type"] == PROBLEM and body["reason"] == reason, body
    assert sess.version() == before == len(sess.acked)
    assert sess.state() == state
    return body


def not_ready(d, reason):
    status, body, ctype, _, _ = d.request("GET", "/readyz")
    assert status == 503, (status, body)
    assert ctype == "application/problem+json", ctype
    assert body["type"] == PROBLEM and body["reason"] == reason, body
    return body


def ready_again(d, within=5.0):
    """Readiness comes back by itself (a fault is probed once a second)."""
    deadline = time.time() + within
    while True:
        status, body, _, _, _ = d.request("GET", "/readyz")
        if status == 200:
            return
        assert time.time() < deadline, body
        time.sleep(0.2)


def writes_work(sess, n=3):
    for _ in range(n):
        status, body, _ = sess.post(write_op(len(sess.acked) + 1))
        assert status == 200, (status, body)
    assert sess.version() == len(sess.acked)


def survives_restart(d, sessions):
    """Every acknowledged op is in the journal, and the state is its replay."""
    d.stop()
    d.start()
    for sess in sessions:
        journal = [e["op"] for e in d.journal(sess.id)]
        assert journal == sess.acked, (len(journal), len(sess.acked))
        assert sess.state() == run_state(RMAPD, journal)


def unlinked_file_refuses_writes_until_it_is_back():
    """rm of the database file (kept by a hard link, as a backup would
    be): writes are refused, not acknowledged into the unlinked inode;
    linking the same file back resumes service."""
    d = Daemon(RMAPD).start()
    try:
        sess = Session(d)
        keep = d.db + ".keep"
        os.link(d.db, keep)
        os.unlink(d.db)
        body = refused(sess, "database-removed")
        assert d.db in body["detail"], body
        refused(sess, "database-removed")
        assert "gone" in not_ready(d, "database-removed")["detail"]
        # reads go on: the state, the journal, the session list
        assert len(d.journal(sess.id)) == len(sess.acked)
        assert d.json("GET", "/api/v1/sessions")[0]["version"] == len(sess.acked)
        os.link(keep, d.db)
        os.unlink(keep)
        ready_again(d)
        writes_work(sess)
        survives_restart(d, [sess])
        # the operator's log: the fault once, however many writes it
        # refused, and its end
        with open(os.path.join(d.tmp, "rmapd.log")) as f:
            log = [ln for ln in f.read().splitlines() if "storage: " in ln]
        assert len(log) == 2, log
        assert "error: storage: writes refused (database-removed): the " \
            "database file %s is gone" % d.db in log[0], log
        assert log[1].endswith("info: storage: writes work again"), log
    finally:
        d.cleanup()


def removed_file_is_rescued_at_shutdown():
    """rm of the database file with no copy kept, then SIGTERM: what the
    removed file held (every acknowledged op) is saved beside the path and
    named in the log; moved back, it serves every acknowledged op."""
    d = Daemon(RMAPD).start()
    try:
        sess = Session(d)
        writes_work(sess)
        os.unlink(d.db)
        refused(sess, "database-removed")
        d.stop()
        with open(os.path.join(d.tmp, "rmapd.log")) as f:
            found = re.findall(r"what it held is saved as (\S+) \(move it back",
                               f.read())
        assert len(found) == 1 and found[0].startswith(d.db + ".rescued-"), found
        os.rename(found[0], d.db)
        d.start()
        journal = [e["op"] for e in d.journal(sess.id)]
        assert journal == sess.acked, (len(journal), len(sess.acked))
        assert sess.state() == run_state(RMAPD, journal)
        writes_work(sess)
    finally:
        d.cleanup()


def moved_and_replaced_file_refuses_writes_until_it_is_back():
    """The file moved away, then another file put at its path: writes are
    refused (first as removed, then as replaced); moving the original back
    resumes service."""
    d = Daemon(RMAPD).start()
    try:
        sess = Session(d)
        away = d.db + ".away"
        os.rename(d.db, away)
        refused(sess, "database-removed")
        with open(d.db, "wb") as f:
            f.write(b"not the database")
        refused(sess, "database-replaced")
        not_ready(d, "database-replaced")
        status, _, _, _, _ = d.request("POST", "/api/v1/sessions",
                                       raw=b'{"name":"x"}', headers=JSON)
        assert status == 503, status
        assert len(d.json("GET", "/api/v1/sessions")) == 1
        os.rename(away, d.db)
        ready_again(d)
        writes_work(sess)
        survives_restart(d, [sess])
    finally:
        d.cleanup()


def immutable_file_refuses_writes_until_writable():
    """chattr +i (which stops root too): writes refused as read-only,
    chattr -i resumes them."""
    d = Daemon(RMAPD).start()
    try:
        sess = Session(d)
        subprocess.run(["chattr", "+i", d.db], check=True)
        try:
            body = refused(sess, "read-only")
            assert "cannot be written" in body["detail"], body
            not_ready(d, "read-only")
            status, _, _, _, _ = d.request("DELETE", sess.url, headers=JSON)
            assert status == 503, status
            assert [s["id"] for s in d.json("GET", "/api/v1/sessions")] == [sess.id]
            assert sess.version() == len(sess.acked)
        finally:
            subprocess.run(["chattr", "-i", d.db], check=True)
        ready_again(d)
        writes_work(sess)
        survives_restart(d, [sess])
    finally:
        d.cleanup()


def chmod_refuses_writes_of_an_unprivileged_daemon_until_writable():
    """rmapd as an unprivileged user, as systemd runs it (DynamicUser):
    chmod a-w of its database refuses writes as read-only; chmod u+w
    resumes them."""
    d = Daemon(RMAPD)
    try:
        os.chown(d.tmp, 65534, 65534)
        wrapper = os.path.join(d.tmp, "as-nobody")
        with open(wrapper, "w") as f:
            f.write('#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 '
                    '--clear-groups %s "$@"\n' % os.path.abspath(RMAPD))
        os.chmod(wrapper, 0o755)
        d.rmapd = wrapper
        d.start()
        sess = Session(d)
        assert os.stat(d.db).st_uid == 65534
        os.chmod(d.db, 0o444)
        body = refused(sess, "read-only")
        assert "Permission denied" in body["detail"], body
        not_ready(d, "read-only")
        os.chmod(d.db, 0o644)
        ready_again(d)
        writes_work(sess)
        survives_restart(d, [sess])
    finally:
        d.cleanup()


def fill(path):
    """Write path until the disk is full."""
    with open(path, "wb", buffering=0) as f:
        chunk = b"\0" * 65536
        try:
            while True:
                f.write(chunk)
        except OSError:
            pass
        small = b"\0" * 512
        try:
            while True:
                f.write(small)
        except OSError:
            pass


def full_disk_refuses_writes_until_space_is_freed():
    """The database on a 4 MiB tmpfs, filled up: writes fail with
    disk-full and change nothing; deleting the filler resumes them."""
    mnt = tempfile.mkdtemp(prefix="rmapd-full-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt],
                   check=True)
    d = Daemon(RMAPD, db=os.path.join(mnt, "rmapd.sqlite"),
               args=["--snapshot-every", "0"])
    try:
        d.start()
        sess = Session(d)
        writes_work(sess, 10)
        filler = os.path.join(mnt, "filler")
        fill(filler)
        # the WAL's last page may still have room for a frame or two
        for _ in range(20):
            status, body, _ = sess.post(write_op(len(sess.acked) + 1))
            if status != 200:
                break
        assert status == 503 and body["reason"] == "disk-full", (status, body)
        assert sess.version() == len(sess.acked)
        refused(sess, "disk-full")
        assert "full" in not_ready(d, "disk-full")["detail"]
        time.sleep(1.1)     # the probe runs again, and still fails
        not_ready(d, "disk-full")
        os.unlink(filler)
        ready_again(d)
        writes_work(sess)
        survives_restart(d, [sess])
    finally:
        d.cleanup()
        subprocess.run(["umount", mnt], check=True)
        os.rmdir(mnt)


def timed(d, path):
    t = time.time()
    status, body, _, _, _ = d.request("GET", path)
    return status, time.time() - t


def hold_sqlite_write_lock(d, held, release):
    """BEGIN IMMEDIATE from another process, until release (at most 5 s)."""
    db = sqlite3.connect(d.db, isolation_level=None, timeout=10)
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO sessions(name, config) VALUES('x', '{}')")
    held.set()
    release.wait(5)
    db.execute("ROLLBACK")
    db.close()


def busy_database_stalls_no_read_and_bounds_writes(
        hold=hold_sqlite_write_lock):
    """Another process holds the write lock for 5 s (hold: BEGIN IMMEDIATE
    on SQLite; test_pg_storage.py passes PostgreSQL's).
    While one write waits for it, /readyz and other sessions' reads (the
    state, rebuilt from the database as only one session stays loaded; the
    journal; the snapshots) answer within 200 ms; the write gives up with
    503 database-busy after DB_BUSY_MS (2 s), not 5 s; once the lock is
    released writes work again."""
    d = Daemon(RMAPD, args=["--max-loaded", "1"]).start()
    try:
        a, b = Session(d, "a"), Session(d, "b")
        assert d.request("POST", b.url + "/snapshots", raw=b'{"name":"mark"}',
                         headers=JSON)[0] == 201
        held = threading.Event()
        release = threading.Event()

        holder = threading.Thread(target=hold, args=(d, held, release))
        holder.start()
        held.wait(5)
        out = {}

        def write():
            t = time.time()
            out["reply"] = a.post(write_op(99))
            out["took"] = time.time() - t

        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.3)     # the write is waiting for the lock now
        slow, took_ms = [], {}
        # (a's own reads wait for a's lock, which its write holds)
        for path in ("/readyz", b.url, b.url + "/ops", b.url + "/snapshots",
                     "/api/v1/sessions"):
            status, took = timed(d, path)
            assert status == 200, (path, status)
            took_ms[path] = round(took * 1000, 1)
            if took >= 0.2:
                slow.append((path, round(took, 3)))
        assert not slow, slow
        writer.join()
        print("while another process held the write lock: reads answered in "
              "%s ms; the waiting write gave up after %.2f s" % (
                  took_ms, out["took"]), flush=True)
        status, body, _ = out["reply"]
        assert status == 503 and body["reason"] == "database-busy", body
        assert 1.5 <= out["took"] <= 4.0, out["took"]
        assert a.version() == len(a.acked)
        not_ready(d, "database-busy")
        release.set()
        holder.join()
        ready_again(d)
        writes_work(a)
        writes_work(b)
        survives_restart(d, [a, b])
    finally:
        d.cleanup()


if __name__ == "__main__":
    res = Results()
    res.run(unlinked_file_refuses_writes_until_it_is_back)
    res.run(removed_file_is_rescued_at_shutdown)
    res.run(moved_and_replaced_file_refuses_writes_until_it_is_back)
    res.run(immutable_file_refuses_writes_until_writable)
    res.run(chmod_refuses_writes_of_an_unprivileged_daemon_until_writable)
    res.run(full_disk_refuses_writes_until_space_is_freed)
    res.run(busy_database_stalls_no_read_and_bounds_writes)
    sys.exit(res.summary())
