"""The two backends agree byte for byte: the same requests to an rmapd on
SQLite and to one on PostgreSQL give the same answers (states, journals,
snapshots, the checker's report, the Graphviz export), and so do both
after a restart, when every session comes back from its database
(automatic snapshots every 4 ops, so that dumps come back from the
store's blobs, and from the journal after them).  Needs PostgreSQL's
binaries (initdb, pg_ctl)."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
import rmapd_client  # noqa: E402
from rmapd_client import Daemon, Results  # noqa: E402

RMAPD = sys.argv[1]
A = "0x7f0000000000"


def mmap(pid, pages=8, addr=A, **extra):
    op = {"op": "mmap", "pid": pid, "addr": addr, "len": 4096 * pages,
          "prot": "rw-", "flags": ["private", "anonymous", "fixed"]}
    op.update(extra)
    return op


def access(pid, addr=A, write=True):
    return {"op": "access", "pid": pid, "addr": addr, "write": write}


# (method, path, body): writes and reads, in order, the same to both
SCRIPT = [
    ("POST", "/api/v1/sessions", {"name": "lab"}),
    ("POST", "/api/v1/sessions/1/ops", {"ops": [
        {"op": "spawn"}, mmap(1), access(1), access(1, "0x7f0000001000"),
        {"op": "fork", "pid": 1}, access(2), {"op": "file", "name": "libc.so",
                                              "pages": 8}]}),
    ("POST", "/api/v1/sessions/1/ops", {"op": "mmap", "pid": 1, "len": 16384,
                                        "prot": "r--", "flags": ["shared"],
                                        "file": "libc.so", "offset": 4096}),
    ("POST", "/api/v1/sessions/1/snapshots", {"name": "after-fork"}),
    ("POST", "/api/v1/sessions/1/snapshots", {"name": "after-fork"}),
    ("POST", "/api/v1/sessions/1/ops", {"ops": [
        {"op": "try_to_unmap", "pfn": 1}, access(1, write=False),
        {"op": "mremap", "pid": 1, "addr": A, "old_len": 8192,
         "new_len": 16384, "flags": ["maymove"]},
        {"op": "munmap", "pid": 2, "addr": A, "len": 4096},
        {"op": "exit", "pid": 2}]}),
    ("POST", "/api/v1/sessions", {"name": "second", "scenario": "fork-cow"}),
    ("POST", "/api/v1/sessions/1/rewind", {"to": 9}),
    ("POST", "/api/v1/sessions/1/ops", {"op": "fork", "pid": 1}),
    ("POST", "/api/v1/sessions/1/ops", {"op": "nonsense"}),
    ("POST", "/api/v1/sessions/3/ops", {"op": "spawn"}),
    ("DELETE", "/api/v1/sessions/2", None),
    ("POST", "/api/v1/sessions", {"name": "third"}),
]

# what is read back after the script, and again after a restart
READS = ["/api/v1/sessions", "/api/v1/sessions/1", "/api/v1/sessions/1/ops",
         "/api/v1/sessions/1/ops?from=3&limit=2",
         "/api/v1/sessions/1/snapshots", "/api/v1/sessions/1/check",
         "/api/v1/sessions/1/graph.dot", "/api/v1/sessions/1?version=5",
         "/api/v1/sessions/1/frames/2/walk", "/api/v1/sessions/3",
         "/api/v1/sessions/3/ops"]


def answers(d, requests):
    out = []
    for method, path, body in requests:
        status, _, ctype, payload, _ = d.request(method, path, body)
        out.append((method, path, status, ctype, payload))
    return out


def same(a, b):
    for x, y in zip(a, b):
        assert x == y, "\nsqlite:     %r\npostgresql: %r" % (x[:4] + (x[4][:300],),
                                                         y[:4] + (y[4][:300],))
    assert len(a) == len(b)


def same_requests_give_the_same_bytes():
    args = ["--snapshot-every", "4"]
    lite = Daemon(RMAPD, db=rmapd_client.new_db(tempfile.mkdtemp(), "sqlite"),
                  args=args).start()
    pg = Daemon(RMAPD, db=rmapd_client.new_db(None, "postgresql"),
                args=args).start()
    try:
        wrote = [answers(d, SCRIPT) for d in (lite, pg)]
        same(*wrote)
        # the script did what it says: a refused op, a taken name, a rewind
        statuses = [a[2] for a in wrote[0]]
        assert statuses == [201, 200, 200, 201, 409, 200, 201, 200, 200, 422,
                            404, 204, 201], statuses
        reads = [(r[0], r[1], None) for r in
                 [("GET", p) for p in READS]]
        before = [answers(d, reads) for d in (lite, pg)]
        same(*before)
        assert all(a[2] == 200 for a in before[0]), [a[:3] for a in before[0]]
        for d in (lite, pg):
            d.stop()
            d.start()
        after = [answers(d, reads) for d in (lite, pg)]
        same(*after)
        same(before[0], after[0])
    finally:
        lite.cleanup()
        pg.cleanup()


if __name__ == "__main__":
    res = Results()
    res.run(same_requests_give_the_same_bytes)
    sys.exit(res.summary())
