#!/usr/bin/env python3
"""The database size of a lab's worth of journals: prints figures, passes
or fails nothing (a benchmark, not a test).

    python3 tests/bench/dbsize.py [--sessions N] [--ops M] build/daemon/rmapd [more rmapd binaries]

For each binary (e.g. this build and main's, for a before/after table):
N sessions (default 1000) of M random well-formed ops each (default 1000,
sent as batches of 1000; the same ops for every binary), default flags,
then a clean stop (which checkpoints the WAL): the size of the database
file, and bytes per op.  For a binary whose journal keeps only the op
(schema 3), it also writes the same content in schema 2's layout (the op
and its result per journal row: the result text as GET /ops answers it,
which is what schema 2 stored), so one run gives before and after."""
import json
import os
import random
import shutil
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
from load import random_op  # noqa: E402
from rmapd_client import Daemon  # noqa: E402

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


def session_ops(seed, n):
    """n ops for one session, pids kept to the processes it has."""
    rng = random.Random(seed)
    ops, nprocs = [{"op": "spawn"}], 1
    while len(ops) < n:
        op = random_op(rng, nprocs)
        nprocs += op["op"] in ("spawn", "fork")
        ops.append(op)
    return ops


def as_schema_2(d, sids, path):
    """The same sessions, journals and snapshots in schema 2's tables."""
    new = sqlite3.connect(d.db)
    old = sqlite3.connect(path)
    old.executescript(SCHEMA_2)
    with old:
        old.executemany("INSERT INTO sessions(id, name, config) VALUES(?,?,?)",
                        new.execute("SELECT id, name, config FROM sessions"))
        for sid in sids:
            for e in d.journal(sid):
                stored = {k: v for k, v in e["result"].items()
                          if k not in ("op", "seq")}
                old.execute("INSERT INTO journal VALUES(?,?,?,?)",
                            (sid, e["seq"], json.dumps(e["op"], separators=(",", ":")),
                             json.dumps(stored, separators=(",", ":"))))
        old.executemany("INSERT INTO snapshots VALUES(?,?,?,?,?)", new.execute(
            "SELECT session, seq, name, dump, checksum FROM snapshots"))
    old.execute("VACUUM")
    old.close()
    new.close()
    return os.path.getsize(path)


def measure(rmapd, nsessions, nops, where):
    d = Daemon(rmapd, db=os.path.join(where, "rmapd.sqlite"),
               args=["--max-sessions", str(nsessions + 10)])
    try:
        d.start()
        sids = []
        for i in range(nsessions):
            sid = d.json("POST", "/api/v1/sessions", {"name": "s%d" % i},
                         expect=201)["id"]
            ops = session_ops(i, nops)
            for k in range(0, nops, 1000):
                d.json("POST", "/api/v1/sessions/%d/ops" % sid,
                       {"ops": ops[k:k + 1000]})
            sids.append(sid)
        schema = sqlite3.connect(d.db).execute("PRAGMA user_version").fetchone()[0]
        old = None
        if schema >= 3:
            old = as_schema_2(d, sids, os.path.join(where, "schema2.sqlite"))
        d.stop()
        size = os.path.getsize(d.db)
        total = nsessions * nops
        print("%s: %d sessions x %d ops, schema %d: %.1f MB (%.0f B/op)" % (
            rmapd, nsessions, nops, schema, size / 1e6, size / total))
        if old is not None:
            print("  the same content in schema 2 (op + result per row): "
                  "%.1f MB (%.0f B/op); schema 3 is %.1f%% of it" % (
                      old / 1e6, old / total, 100.0 * size / old))
    finally:
        d.cleanup()


def main():
    args = sys.argv[1:]
    nsessions, nops = 1000, 1000
    while args and args[0].startswith("--"):
        flag, value = args[0], int(args[1])
        args = args[2:]
        if flag == "--sessions":
            nsessions = value
        else:
            nops = value
    for rmapd in args:
        where = tempfile.mkdtemp(prefix="rmapd-dbsize-", dir="/var/tmp")
        try:
            measure(rmapd, nsessions, nops, where)
        finally:
            shutil.rmtree(where, ignore_errors=True)


if __name__ == "__main__":
    main()
