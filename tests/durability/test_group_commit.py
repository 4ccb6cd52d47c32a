"""The group commit, driven step by step through the test hooks of
rmapd-hooks (a file "hold" in $RMAPD_TEST_COMMIT_DIR holds every group from
the index it names before its commit, "holding" describes the group held, a
file "fail" naming a session fails the group that writes for it): ops of
several requests are committed in one group; a failed group fails exactly
its ops (503 storage-unavailable), and the ops queued after them on the
same sessions (they were applied on a state that is gone); those sessions
come back to their durable state, and a read built on the vanished state
is answered from the restored one; the other sessions go on.  Also the
--sync policies and the migration of a schema 2 database."""
import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
import rmapd_client  # noqa: E402
from rmapd_client import (Daemon, Hooks, Results, metric,  # noqa: E402
                          run_state, wait_for)

RMAPD = sys.argv[1]
HOOKS = sys.argv[2]
PROBLEM = "urn:rmapd:problem:storage-unavailable"
MM = {"op": "mmap", "pid": 1, "addr": "0x7f0000000000", "len": 65536,
      "prot": "rw-", "flags": ["private", "anonymous", "fixed"]}


def write_op(n):
    return {"op": "access", "pid": 1, "write": True,
            "addr": hex(0x7f0000000000 + 4096 * (n % 16))}


class Call(threading.Thread):
    """A request answered in the background: status, body."""

    def __init__(self, d, method, path, body=None):
        super().__init__()
        self.args = (method, path, body)
        self.d = d
        self.start()

    def run(self):
        self.status, self.body = self.d.request(*self.args)[:2]

    def result(self):
        self.join(30)
        assert not self.is_alive(), self.args
        return self.status, self.body


def new_session(d, name):
    sid = d.json("POST", "/api/v1/sessions", {"name": name}, expect=201)["id"]
    d.json("POST", "/api/v1/sessions/%d/ops" % sid,
           {"ops": [{"op": "spawn"}, MM, write_op(0)]})
    return sid


def state(d, sid):
    return d.state(sid)


@contextlib.contextmanager
def hooked(args=()):
    """A started rmapd-hooks and its hooks' directory, removed after."""
    tmp = tempfile.mkdtemp(prefix="rmapd-hooks-")
    os.environ["RMAPD_TEST_COMMIT_DIR"] = tmp
    d = Daemon(HOOKS, args=["--snapshot-every", "0"] + list(args))
    try:
        d.start()
        yield d, Hooks(d, tmp)
    finally:
        del os.environ["RMAPD_TEST_COMMIT_DIR"]
        d.cleanup()
        shutil.rmtree(tmp)


def ops_url(sid):
    return "/api/v1/sessions/%d/ops" % sid


def failed_group_fails_exactly_its_ops():
    """Group g holds Z's op; A's and C's ops queue behind it and form group
    g+1; A's second op and D's queue while g+1 is held, as group g+2.  g+1
    fails: A1 and C1 get 503, and so does A2 (queued on A's state with A1);
    Z1 and D1 are committed.  A and C are back at their durable version,
    equal to a replay of their journal; a read of C made while its op was
    in the failing group answers the restored state."""
    with hooked() as (d, h):
        a, c, dd, z = (new_session(d, n) for n in "acdz")
        before = {s: state(d, s) for s in (a, c, dd, z)}
        g = metric(d, "rmapd_commit_groups_total")
        q = metric(d, "rmapd_commit_queued_total")
        h.put("hold", g)
        z1 = Call(d, "POST", ops_url(z), write_op(1))
        assert h.holding(g) == [(z, 4, False)]
        a1 = Call(d, "POST", ops_url(a), write_op(1))
        c1 = Call(d, "POST", ops_url(c), write_op(1))
        h.queued(q + 3)
        h.put("hold", g + 1)
        assert sorted(h.holding(g + 1)) == sorted([(a, 4, False), (c, 4, False)])
        assert z1.result()[0] == 200
        read_c = Call(d, "GET", "/api/v1/sessions/%d" % c)
        a2 = Call(d, "POST", ops_url(a), {"ops": [write_op(2), write_op(3)]})
        d1 = Call(d, "POST", ops_url(dd), write_op(1))
        h.queued(q + 5)
        h.put("fail", a)
        h.put("hold", g + 2)
        assert sorted(h.holding(g + 2)) == sorted([(a, 5, True), (dd, 4, False)])
        os.unlink(os.path.join(h.dir, "hold"))
        for call in (a1, c1, a2):
            status, body = call.result()
            assert status == 503 and body["type"] == PROBLEM, (status, body)
        assert d1.result()[0] == 200
        status, body = read_c.result()
        assert status == 200 and body["version"] == 3, (status, body)
        for s, version in ((a, 3), (c, 3), (dd, 4), (z, 4)):
            live = state(d, s)
            assert live["version"] == version, (s, live["version"])
            ops = [e["op"] for e in d.journal(s)]
            assert len(ops) == version
            assert live == run_state(RMAPD, ops)
        assert state(d, a) == before[a] and state(d, c) == before[c]
        assert metric(d, "rmapd_commit_failed_groups_total") == 1
        # writes go on, on the restored state, and survive a restart
        d.json("POST", ops_url(a), write_op(4))
        d.stop()
        d.start()
        assert [e["op"] for e in d.journal(a)][3:] == [write_op(4)]
        assert state(d, a) == run_state(RMAPD, [e["op"] for e in d.journal(a)])


UNDO = 'rmapd_batch_undos_total{how="%s"}'


def undone_while_a_row_is_held(args, batch, how, fail=False):
    """A session of 4,096 written pages; a write held in its group (which
    fails, if fail); then batch, which the budget of 3,000 stops (its
    mprotect of 4,096 PTEs) after applying it (part of it), undone as how
    says."""
    pages = 4096
    mprotect = {"op": "mprotect", "pid": 1, "addr": "0x7f0000000000",
                "len": pages * 4096, "prot": "r--"}
    with hooked(["--max-batch-cost", "3000"] + args) as (d, h):
        sid = d.json("POST", "/api/v1/sessions", {"name": "u"},
                     expect=201)["id"]
        d.json("POST", ops_url(sid), {"ops": [{"op": "spawn"}, dict(
            MM, len=pages * 4096)]})
        for at in range(0, pages, 200):
            d.json("POST", ops_url(sid), {"ops": [
                {"op": "access", "pid": 1, "write": True,
                 "addr": hex(0x7f0000000000 + 4096 * i)}
                for i in range(at, min(pages, at + 200))]})
        version = state(d, sid)["version"]
        undos = {k: metric(d, UNDO % k) for k in ("copy", "rebuild")}
        g = metric(d, "rmapd_commit_groups_total")
        q = metric(d, "rmapd_commit_queued_total")
        h.put("hold", g)
        w = Call(d, "POST", ops_url(sid), {"op": "access", "pid": 1,
                                           "addr": "0x7f0000000000"})
        assert h.holding(g) == [(sid, version + 1, False)]
        h.queued(q + 1)
        mp = Call(d, "POST", ops_url(sid), {"ops": [
            mprotect if op == "mprotect" else
            {"op": "access", "pid": 1, "addr": "0x7f0000001000"}
            for op in batch]})
        if how == "rebuild":
            wait_for("the rollback", lambda: metric(d, UNDO % how) ==
                     undos[how] + 1)
            # counted before it waits: held, as the write it waits for
            assert mp.is_alive(), "answered before the rows it is built on"
        else:
            status, body = mp.result()
            assert status == 422, (status, body)
        if fail:
            h.put("fail", sid)
        os.unlink(os.path.join(h.dir, "hold"))
        assert w.result()[0] == (503 if fail else 200)
        status, body = mp.result()
        assert status == 422 and body["type"].endswith("budget-exceeded"), \
            (status, body)
        assert body["index"] == len(batch) - 1, body
        for k in ("copy", "rebuild"):
            assert metric(d, UNDO % k) == undos[k] + (k == how), k
        ops = [e["op"] for e in d.journal(sid)]
        kept = version + (0 if fail else 1)
        assert len(ops) == kept and ops[-1]["op"] == "access", ops[-1]
        live = state(d, sid)
        assert live["version"] == kept, live["version"]
        assert live == run_state(RMAPD, ops)
        d.stop()
        d.start()
        assert state(d, sid) == live


def an_undone_batch_waits_for_the_rows_queued_before_it():
    """A batch stopped by the budget is undone by rebuilding the state from
    the journal, which must first hold the session's ops still queued: a
    write is held in its group while an mprotect of 4,096 PTEs (over the
    budget) is stopped.  The mprotect's answer waits for the write's
    commit; then the write is kept, the mprotect undone, and the state is
    the journal's replay.  Rebuilt at once, the journal lacked the write
    and the state kept the mprotect.  A single op (snapshots off), and a
    batch of two 97 ops after this history's latest snapshot: both are
    rebuilt; the batch was copied whole before it ran, once."""
    undone_while_a_row_is_held([], ["mprotect"], "rebuild")
    undone_while_a_row_is_held(["--snapshot-every", "100"],
                               ["access", "mprotect"], "rebuild")


def an_undone_batch_on_rows_that_fail_is_restored():
    """The same, the held write's group failing: the write gets 503, the
    stopped mprotect 422, and the session is back at its durable version
    (without the write), the journal's replay."""
    undone_while_a_row_is_held([], ["mprotect"], "rebuild", fail=True)


def a_batch_far_from_a_snapshot_is_undone_from_a_copy():
    """With snapshots off a rebuild would replay the whole journal: a batch
    of several ops is copied first, and put back from that copy, without
    waiting for the held row (the copy holds it)."""
    undone_while_a_row_is_held([], ["access", "mprotect"], "copy")


def many_requests_share_one_group():
    """16 writes queued behind a held group are committed as one; a read
    of a session with ops not yet committed waits for their commit, and
    the session list shows only committed versions meanwhile."""
    with hooked() as (d, h):
        sids = [new_session(d, "s%d" % i) for i in range(16)]
        g = metric(d, "rmapd_commit_groups_total")
        q = metric(d, "rmapd_commit_queued_total")
        h.put("hold", g)
        first = Call(d, "POST", ops_url(sids[0]), write_op(1))
        h.holding(g)
        calls = [Call(d, "POST", ops_url(s), write_op(2)) for s in sids]
        h.queued(q + 17)
        # a read of a state whose ops are not committed waits for them;
        # the list shows the version that is durable
        read = Call(d, "GET", "/api/v1/sessions/%d" % sids[0])
        listed = {e["id"]: e["version"] for e in d.json("GET", "/api/v1/sessions")}
        assert all(listed[s] == 3 for s in sids), listed
        h.put("hold", g + 1)
        assert len(h.holding(g + 1)) == 16
        time.sleep(0.3)
        assert read.is_alive()
        os.unlink(os.path.join(h.dir, "hold"))
        assert all(c.result()[0] == 200 for c in calls + [first])
        status, body = read.result()
        assert status == 200 and body["version"] == 5, (status, body)
        listed = {e["id"]: e["version"] for e in d.json("GET", "/api/v1/sessions")}
        assert listed[sids[0]] == 5 and listed[sids[1]] == 4, listed
        assert metric(d, "rmapd_commit_groups_total") == g + 2


def an_answer_settled_before_it_is_suspended_leaves():
    """The writer settling an answer's commit between the worker listing
    it and suspending it: the worker, coming second, resumes it itself
    (the file "settle-first" makes the worker wait for the settlement;
    "hold" keeps the commit back until then).  Each such answer leaves,
    with its version, and is counted once; without the file, none is."""
    with hooked() as (d, h):
        sid = new_session(d, "first")
        open(os.path.join(h.dir, "settle-first"), "w").close()
        for i in range(3):
            g = metric(d, "rmapd_commit_groups_total")
            h.put("hold", g)
            call = Call(d, "POST", ops_url(sid), write_op(i + 1))
            assert h.holding(g) == [(sid, 4 + i, False)]
            os.unlink(os.path.join(h.dir, "hold"))
            status, body = call.result()
            assert status == 200 and body["version"] == 4 + i, (status, body)
            assert h.get("settled-first") == i + 1
        os.unlink(os.path.join(h.dir, "settle-first"))
        h.put("hold", metric(d, "rmapd_commit_groups_total"))
        call = Call(d, "POST", ops_url(sid), write_op(9))
        time.sleep(0.2)
        os.unlink(os.path.join(h.dir, "hold"))
        status, body = call.result()
        assert status == 200 and body["version"] == 7, (status, body)
        assert h.get("settled-first") == 3
        ops = [e["op"] for e in d.journal(sid)]
        assert len(ops) == 7 and state(d, sid) == run_state(RMAPD, ops)


def sync_policies_are_accepted_and_keep_ops():
    """Each --sync policy answers, and what it acknowledged is there after a
    clean stop; a bad value is refused at start."""
    for policy in ("full", "normal", "off"):
        d = Daemon(RMAPD, args=["--sync", policy])
        try:
            d.start()
            sid = new_session(d, policy)
            for n in range(20):
                d.json("POST", ops_url(sid), write_op(n))
            # under off, a read waits for nothing: the version is the one
            # acknowledged, durable or not
            assert state(d, sid)["version"] == 23
            d.stop()
            d.start()
            assert len(d.journal(sid)) == 23
        finally:
            d.cleanup()
    p = subprocess.run([RMAPD, "--sync", "sometimes"], capture_output=True,
                       text=True)
    assert p.returncode != 0 and "--sync is full, normal or off" in p.stderr


# the schema 2 tables, as rmapd made them before the journal lost its results
SCHEMA_2 = """
CREATE TABLE sessions (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,
  config TEXT NOT NULL, created INTEGER NOT NULL DEFAULT (strftime('%s','now')));
CREATE TABLE journal (
  session INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL, op TEXT NOT NULL, result TEXT NOT NULL,
  PRIMARY KEY (session, seq)) WITHOUT ROWID;
CREATE TABLE snapshots (
  session INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL, name TEXT, dump BLOB NOT NULL, checksum BLOB);
CREATE INDEX snapshots_by_seq ON snapshots(session, seq);
CREATE UNIQUE INDEX snapshots_by_name ON snapshots(session, name);
PRAGMA user_version = 2;
"""


def schema_2_database_migrates_without_loss():
    """A database in the schema 2 layout (the op and its full result per
    journal row) is converted on start: the journal keeps every op, the
    results answered by GET /ops are the ones schema 2 stored (now by
    replay), sessions and named snapshots are all there and restore."""
    d = Daemon(RMAPD, args=["--snapshot-every", "4"])
    try:
        d.start()
        sids = [new_session(d, "m%d" % i) for i in range(3)]
        for n, sid in enumerate(sids):
            d.json("POST", ops_url(sid), {"ops": [{"op": "fork", "pid": 1}] +
                                          [write_op(k) for k in range(n + 3)]})
            d.json("POST", "/api/v1/sessions/%d/snapshots" % sid,
                   {"name": "named"}, expect=201)
            d.json("POST", ops_url(sid), dict(write_op(9), pid=2))
        journals = {sid: d.journal(sid) for sid in sids}
        states = {sid: state(d, sid) for sid in sids}
        d.stop()
        # the same content, in schema 2's tables
        new = sqlite3.connect(d.db)
        old_path = d.db + ".v2"
        old = sqlite3.connect(old_path)
        old.executescript(SCHEMA_2)
        with old:
            old.executemany("INSERT INTO sessions(id, name, config) VALUES(?,?,?)",
                            new.execute("SELECT id, name, config FROM sessions"))
            for sid, journal in journals.items():
                for e in journal:
                    stored = {k: v for k, v in e["result"].items()
                              if k not in ("op", "seq")}
                    old.execute("INSERT INTO journal VALUES(?,?,?,?)",
                                (sid, e["seq"], json.dumps(e["op"]),
                                 json.dumps(stored)))
            old.executemany("INSERT INTO snapshots VALUES(?,?,?,?,?)", new.execute(
                "SELECT session, seq, name, dump, checksum FROM snapshots "
                "ORDER BY id"))
        n_snapshots = new.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0]
        old.close()
        new.close()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(d.db + suffix):
                os.unlink(d.db + suffix)
        os.rename(old_path, d.db)
        d.start()
        for sid in sids:
            assert d.journal(sid) == journals[sid], sid
            assert state(d, sid) == states[sid], sid
        d.json("POST", "/api/v1/sessions/%d/snapshots/named/restore" % sids[2])
        assert state(d, sids[2])["version"] == len(journals[sids[2]]) - 1
        d.stop()
        db = sqlite3.connect(d.db)
        assert db.execute("PRAGMA user_version").fetchone()[0] == 7
        assert [r[1] for r in db.execute("PRAGMA table_info(journal)")] == \
            ["session", "seq", "op"]
        # the restore cut the snapshots past its seq: one automatic one
        assert db.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0] >= \
            n_snapshots - 1
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()
    finally:
        d.cleanup()


def a_commit_whose_answer_is_lost_is_settled():
    """PostgreSQL: the connection breaks around a COMMIT (the hooks shut its
    socket after the server committed, or before the COMMIT went out).  The
    writer asks the server what became of the transaction once it answers
    again: the committed op is answered 200, not 503 (a 503'd op found in
    the journal later would be done twice by a client that tries again),
    and the one not committed is 503 and changes nothing."""
    with hooked() as (d, h):
        sid = new_session(d, "settle")
        before = state(d, sid)
        lost = os.path.join(h.dir, "lose-commit")
        open(lost, "w").close()
        status, body = d.request("POST", ops_url(sid), write_op(1))[:2]
        assert not os.path.exists(lost), "the hook was not reached"
        assert status == 200 and body["version"] == before["version"] + 1, \
            (status, body)
        ops = [e["op"] for e in d.journal(sid)]
        assert ops[-1] == write_op(1) and len(ops) == body["version"], ops
        done = state(d, sid)
        open(os.path.join(h.dir, "lose-before-commit"), "w").close()
        status, body = d.request("POST", ops_url(sid), write_op(2))[:2]
        assert status == 503 and body["type"] == PROBLEM, (status, body)
        assert state(d, sid) == done
        assert [e["op"] for e in d.journal(sid)] == ops
        d.json("POST", ops_url(sid), write_op(3))
        d.stop()
        d.start()
        ops = [e["op"] for e in d.journal(sid)]
        assert ops[-2:] == [write_op(1), write_op(3)], ops
        assert state(d, sid) == run_state(RMAPD, ops)


if __name__ == "__main__":
    res = Results()
    res.run(failed_group_fails_exactly_its_ops)
    res.run(many_requests_share_one_group)
    res.run(an_undone_batch_waits_for_the_rows_queued_before_it)
    res.run(a_batch_far_from_a_snapshot_is_undone_from_a_copy)
    res.run(an_undone_batch_on_rows_that_fail_is_restored)
    res.run(an_answer_settled_before_it_is_suspended_leaves)
    res.run(sync_policies_are_accepted_and_keep_ops)
    # SQLite's commit is a call in this process: no answer to lose
    if rmapd_client.BACKEND == "postgresql":
        res.run(a_commit_whose_answer_is_lost_is_settled)
    # an old SQLite file's migration: no PostgreSQL database predates schema 3
    if rmapd_client.BACKEND == "sqlite":
        res.run(schema_2_database_migrates_without_loss)
    sys.exit(res.summary())
