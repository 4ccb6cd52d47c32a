"""Snapshots are verified when a session is loaded: each damaged or
misplaced snapshot row (a flipped PTE bit, another session's valid dump at
the same seq, a dump the invariant checker rejects in normal mode, a
truncated dump, a dump at the wrong seq, a row without a checksum) is
ignored with one log line naming the session, the seq and the reason, and
the state equals a fresh replay of the journal.  A good snapshot (also of a
legacy-mode session, whose state breaks invariants by design) loads without
a word, and its checksum is BLAKE2b-256 over the documented input.  On
either backend (RMAPD_TEST_BACKEND): the rows are edited with sqlite3 or
psql."""
import hashlib
import json
import os
import re
import sqlite3
import struct
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
import rmapd_client  # noqa: E402
from rmapd_client import (Daemon, Results, blob_hex, blob_literal,  # noqa: E402
                          db_exec, db_rows, run_state)

RMAPD = sys.argv[1]
JSON = {"Content-Type": "application/json"}


def mmap(addr, prot):
    return {"op": "mmap", "pid": 1, "addr": addr, "len": 8192, "prot": prot,
            "flags": ["private", "anonymous", "fixed"]}


def write(pid, addr):
    return {"op": "access", "pid": pid, "addr": addr, "write": True}


# two anon_vmas (the second VMA is made writable apart, so it cannot merge)
OPS = [{"op": "spawn"}, mmap("0x7f0000000000", "rw-"),
       mmap("0x7f1000000000", "r--"),
       {"op": "mprotect", "pid": 1, "addr": "0x7f1000000000", "len": 8192,
        "prot": "rw-"},
       write(1, "0x7f0000000000"), write(1, "0x7f1000000000")]
LATER = [{"op": "fork", "pid": 1}, write(2, "0x7f0000000000")]
DONOR = [{"op": "spawn"}, {"op": "spawn"}, mmap("0x7f0000000000", "rw-"),
         write(1, "0x7f0000000000"), write(1, "0x7f0000001000"),
         {"op": "fork", "pid": 1}]
SEQ = len(OPS)


def checksum(sid, seq, dump):
    return hashlib.blake2b(b"rmapd-snapshot-v1\0" + struct.pack("<qq", sid, seq)
                           + dump, digest_size=32).digest()


def post(d, path, body, expect):
    status, reply, _, payload, _ = d.request(
        "POST", path, raw=json.dumps(body).encode(), headers=JSON)
    assert status == expect, (path, status, payload[:300])
    return reply


def session(d, name, ops, later=()):
    sid = post(d, "/api/v1/sessions", {"name": name}, 201)["id"]
    post(d, "/api/v1/sessions/%d/ops" % sid, {"ops": ops}, 200)
    post(d, "/api/v1/sessions/%d/snapshots" % sid, {"name": "s"}, 201)
    if later:
        post(d, "/api/v1/sessions/%d/ops" % sid, {"ops": list(later)}, 200)
    return sid


def flip_dirty_bit(dump):
    """The first PTE made clean: one bit of the dump, which the later fork
    keeps (it write-protects the PTE, but a private PTE stays dirty)."""
    lines = dump.split(b"\n")
    for i, line in enumerate(lines):
        if line.startswith(b"pte "):
            f = line.split(b" ")
            assert f[5][2:3] == b"1", line
            f[5] = f[5][:2] + b"0" + f[5][3:]
            lines[i] = b" ".join(f)
            return b"\n".join(lines)
    raise AssertionError("no pte in the dump")


def unreachable_page(dump):
    """pfn 2's page->mapping moved to anon_vma 1, which its VMA's chain
    does not hold: anon-not-reachable, which sim_load refuses in normal mode
    (only legacy mode may leave such pages behind)."""
    out = re.sub(rb"^folio 2 2 ", b"folio 2 1 ", dump, count=1, flags=re.M)
    assert out != dump
    return out


def corrupt_snapshots_are_ignored_and_state_is_the_replay():
    d = Daemon(RMAPD, args=["--snapshot-every", "0"]).start()
    try:
        cases = {}
        for name in ("good", "flipped", "foreign", "checker", "truncated",
                     "misplaced", "unsigned"):
            cases[name] = session(d, name, OPS, LATER)
        donor = session(d, "donor", DONOR)
        legacy = post(d, "/api/v1/sessions", {"scenario": "legacy-reuse-bug"},
                      201)["id"]
        post(d, "/api/v1/sessions/%d/snapshots" % legacy, {"name": "s"}, 201)
        legacy_seq = d.json("GET", "/api/v1/sessions/%d?view=summary" % legacy)[
            "version"]
        d.stop()

        def stored(sid):
            (dump, sum_), = db_rows(d.db, "SELECT %s, %s FROM snapshots "
                                    "WHERE session = %d" % (
                                        blob_hex(d.db, "dump"),
                                        blob_hex(d.db, "checksum"), sid))
            return bytes.fromhex(dump), sum_ and bytes.fromhex(sum_)
        row = {sid: stored(sid)
               for sid in list(cases.values()) + [donor, legacy]}
        for sid, (dump, sum_) in row.items():
            seq = legacy_seq if sid == legacy else SEQ
            assert sum_ == checksum(sid, seq, dump), sid
        edits = []

        def put(name, dump, sum_, seq=SEQ):
            edits.append("UPDATE snapshots SET dump = %s, checksum = %s, "
                         "seq = %d WHERE session = %d;" % (
                             blob_literal(d.db, dump),
                             blob_literal(d.db, sum_), seq, cases[name]))
        good = row[cases["flipped"]][0]
        put("flipped", flip_dirty_bit(good), row[cases["flipped"]][1])
        put("foreign", *row[donor])
        bad = unreachable_page(good)
        put("checker", bad, checksum(cases["checker"], SEQ, bad))
        cut = good[:len(good) // 2]
        put("truncated", cut, checksum(cases["truncated"], SEQ, cut))
        put("misplaced", good, checksum(cases["misplaced"], SEQ - 1, good),
            SEQ - 1)
        put("unsigned", good, None)
        db_exec(d.db, "".join(edits))

        d.start()
        for name, sid in list(cases.items()) + [("legacy", legacy)]:
            url = "/api/v1/sessions/%d" % sid
            live = d.json("GET", url)
            live.pop("id")
            live.pop("name")
            journal = [e["op"] for e in d.journal(sid)]
            config = {"mode": "legacy"} if name == "legacy" else None
            assert live == run_state(RMAPD, journal, config), name
        d.stop()
        with open(os.path.join(d.tmp, "rmapd.log")) as f:
            log = f.read()
        reasons = {
            "flipped": "its checksum does not match its dump, session and seq",
            "foreign": "its checksum does not match its dump, session and seq",
            "checker": "the engine cannot load it: line 17: inconsistent "
                       "state: anon-not-reachable: ",
            "truncated": "the engine cannot load it: ",
            "misplaced": "it holds %d ops, not %d" % (SEQ, SEQ - 1),
            "unsigned": "it has no checksum (stored by an older rmapd)",
        }
        for name, reason in reasons.items():
            sid = cases[name]
            seq = SEQ - 1 if name == "misplaced" else SEQ
            lines = [ln for ln in log.splitlines()
                     if "session %d: snapshot" % sid in ln]
            want = "session %d: snapshot at op %d ignored: %s" % (sid, seq, reason)
            assert len(lines) == 1 and want in lines[0], (name, lines)
        for sid in (cases["good"], legacy):
            assert "session %d: snapshot" % sid not in log, sid
    finally:
        d.cleanup()


SCHEMA4_UNDO = """
ALTER TABLE sessions DROP COLUMN cuts;
DROP TABLE lessons; DROP TABLE auth_epoch;
ALTER TABLE sessions DROP COLUMN last_activity;
DROP INDEX sessions_by_owner;
ALTER TABLE sessions DROP COLUMN owner;
ALTER TABLE sessions DROP COLUMN visibility;
ALTER TABLE sessions DROP COLUMN class_id;
DROP TABLE quotas; DROP TABLE shares; DROP TABLE join_codes;
DROP TABLE memberships; DROP TABLE classes; DROP TABLE tokens;
DROP TABLE users;
"""


def snapshot_rows_of_schema_1_are_kept_unverified():
    """A database of schema 1 gains the checksum column (and then the
    later schemas); its old snapshot rows stay, unverified, and are never
    loaded.  SQLite only: no PostgreSQL database predates schema 3 (its
    first migration makes the tables as they were then)."""
    d = Daemon(RMAPD, args=["--snapshot-every", "0"]).start()
    try:
        sid = session(d, "old", OPS, LATER)
        d.stop()
        db = sqlite3.connect(d.db)
        # back to schema 1: without what schemas 4 to 7 added (users,
        # owners, lessons, cuts, live walks)
        db.executescript(SCHEMA4_UNDO)
        db.executescript("CREATE TABLE s AS SELECT session, seq, name, dump "
                         "FROM snapshots; DROP TABLE snapshots; "
                         "ALTER TABLE s RENAME TO snapshots; "
                         "PRAGMA user_version = 1;")
        db.close()
        d.start()
        live = d.json("GET", "/api/v1/sessions/%d" % sid)
        live.pop("id")
        live.pop("name")
        assert live == run_state(RMAPD, OPS + LATER)
        d.stop()
        db = sqlite3.connect(d.db)
        assert db.execute("PRAGMA user_version").fetchone()[0] == 7
        assert db.execute("SELECT seq, checksum FROM snapshots").fetchall() == \
            [(SEQ, None)]
        db.close()
        with open(os.path.join(d.tmp, "rmapd.log")) as f:
            assert ("session %d: snapshot at op %d ignored: it has no checksum"
                    % (sid, SEQ)) in f.read()
    finally:
        d.cleanup()


def schema_3_database_migrates_once_under_two_nodes():
    """A database of schema 3 (sessions, journal and snapshots, from before
    users) opened by two daemons at the same moment, as two nodes of a lab
    restarted on a new rmapd: both come up, the schema is migrated once
    (one admin made, who owns the old sessions, named in one log only),
    and every session reads as its replay.  Both backends: on PostgreSQL
    the advisory lock serialises the two migrations, on SQLite the write
    lock does."""
    d = Daemon(RMAPD, args=["--snapshot-every", "0"]).start()
    nodes = []
    try:
        sids = [session(d, name, OPS, LATER) for name in ("one", "two")]
        d.stop()
        db_exec(d.db, SCHEMA4_UNDO + (
            "UPDATE rmapd_schema SET version = 3;" if rmapd_client.is_pg(d.db)
            else "PRAGMA user_version = 3;"))
        nodes = [Daemon(RMAPD, db=d.db, args=["--auth", "on"])
                 for _ in range(2)]
        errors = []

        def start(n):
            try:
                n.start()
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
        threads = [threading.Thread(target=start, args=(n,)) for n in nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        for n in nodes:
            assert n.request("GET", "/readyz")[0] == 200
            n.stop()
        notes = [n.log_text().count("the 2 existing sessions now belong to "
                                    "the new admin user 'admin'")
                 for n in nodes]
        assert sorted(notes) == [0, 1], notes
        version = ("SELECT version FROM rmapd_schema" if rmapd_client.is_pg(
            d.db) else "PRAGMA user_version")
        assert db_rows(d.db, version) == [("7",)]
        (admin, name), = db_rows(d.db, "SELECT id, name FROM users")
        assert name == "admin"
        assert db_rows(d.db, "SELECT id, owner FROM sessions ORDER BY id") \
            == [(str(sid), admin) for sid in sids]
        d.start()
        for sid in sids:
            live = d.json("GET", "/api/v1/sessions/%d" % sid)
            live.pop("id")
            live.pop("name")
            assert live == run_state(RMAPD, OPS + LATER), sid
    finally:
        for n in nodes:
            n.cleanup()
        d.cleanup()


if __name__ == "__main__":
    res = Results()
    res.run(corrupt_snapshots_are_ignored_and_state_is_the_replay)
    res.run(schema_3_database_migrates_once_under_two_nodes)
    if rmapd_client.BACKEND == "sqlite":
        res.run(snapshot_rows_of_schema_1_are_kept_unverified)
    sys.exit(res.summary())
