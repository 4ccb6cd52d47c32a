"""Several rmapd nodes on one database (one SQLite file in WAL mode, or
with RMAPD_TEST_BACKEND=postgresql a database of a throwaway PostgreSQL): the journal's key (session, seq) is the fence.
A node whose copy of a session is stale gets its append refused, reloads
the session and makes the request again on the fresh state; the other
sessions of its group commit as if nothing happened.  With --shared-db a
node brings a session to the journal's head before it answers, so no read
is older than an acknowledged op, and event streams see versions written
through other nodes."""
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
import rmapd_client  # noqa: E402
from rmapd_client import (Daemon, Hooks, Results, metric,  # noqa: E402
                          new_db, run_state)

RMAPD = sys.argv[1]
HOOKS = sys.argv[2]
MM = {"op": "mmap", "pid": 1, "addr": "0x7f0000000000", "len": 65536,
      "prot": "rw-", "flags": ["private", "anonymous", "fixed"]}


def write_op(n):
    return {"op": "access", "pid": 1, "write": True,
            "addr": hex(0x7f0000000000 + 4096 * (n % 16))}


def ops_url(sid):
    return "/api/v1/sessions/%d/ops" % sid


class Nodes:
    """Daemons on one database file, stopped and removed after."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="rmapd-fence-")
        self.db = new_db(self.tmp)
        self.all = []

    def start(self, args=(), exe=RMAPD):
        d = Daemon(exe, db=self.db, args=["--snapshot-every", "4"] +
                   list(args))
        self.all.append(d)
        return d.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for d in self.all:
            d.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)


def new_session(d, name):
    sid = d.json("POST", "/api/v1/sessions", {"name": name}, expect=201)["id"]
    d.json("POST", ops_url(sid), {"ops": [{"op": "spawn"}, MM, write_op(0)]})
    return sid


def replays(d, sid):
    """The node's state of the session equals a fresh replay of its
    journal; the journal's length."""
    ops = [e["op"] for e in d.journal(sid)]
    live = d.state(sid)
    assert live["version"] == len(ops), (live["version"], len(ops))
    assert live == run_state(RMAPD, ops)
    return len(ops)


def stale_node_makes_its_write_again_on_the_reloaded_session():
    """B loaded the session at version 3, then A wrote op 4 (B, with
    --shared-db=no, does not look).  B's op meets A's (session, 4) in the
    journal: B answers version 5, built on the state with A's op, and the
    journal holds both ops in that order.  A batch B then sends on its
    fresh copy goes through without a conflict."""
    with Nodes() as n:
        a = n.start()
        sid = new_session(a, "s")
        b = n.start(["--shared-db=no"])
        assert b.json("GET", "/api/v1/sessions/%d" % sid)["version"] == 3
        assert a.json("POST", ops_url(sid), write_op(1))["version"] == 4
        got = b.json("POST", ops_url(sid), write_op(2))
        assert got["version"] == 5, got
        assert [r["seq"] for r in got["results"]] == [5], got
        assert metric(b, "rmapd_commit_conflicts_total") == 1, metric(b, "rmapd_commit_conflicts_total")
        # one request's rows in the batch: whose they were was known
        assert metric(b, "rmapd_commit_row_retries_total") == 0
        assert [e["op"] for e in b.journal(sid)][3:] == [write_op(1),
                                                         write_op(2)]
        assert b.json("POST", ops_url(sid),
                      {"ops": [write_op(3), write_op(4)]})["version"] == 7
        assert metric(b, "rmapd_commit_conflicts_total") == 1, metric(b, "rmapd_commit_conflicts_total")
        assert replays(b, sid) == 7
        assert "another node wrote it meanwhile" in b.log_text()


def conflict_leaves_the_rest_of_the_group_alone():
    """B's ops for s (stale: A wrote s meanwhile) and for t are held in one
    group (behind a group that holds z's op): s's rows are rolled back out
    of it, t's are committed by the same group, s's op is made again and
    committed next; every answer is 200, and nothing fails (no failed
    group, no storage fault)."""
    hooks = tempfile.mkdtemp(prefix="rmapd-hooks-")
    os.environ["RMAPD_TEST_COMMIT_DIR"] = hooks
    try:
        with Nodes() as n:
            a = n.start()
            s, t, z = (new_session(a, x) for x in "stz")
            b = n.start(["--snapshot-every", "0", "--shared-db=no"],
                        exe=HOOKS)
            h = Hooks(b, hooks)
            for sid in (s, t, z):
                b.json("GET", "/api/v1/sessions/%d" % sid)
            a.json("POST", ops_url(s), write_op(1))
            g = metric(b, "rmapd_commit_groups_total")
            q = metric(b, "rmapd_commit_queued_total")
            answers = {}

            def post(sid, op):
                answers[sid] = b.request("POST", ops_url(sid), op)[:2]

            def call(sid):
                th = threading.Thread(target=post, args=(sid, write_op(2)))
                th.start()
                return th
            h.put("hold", g)
            calls = [call(z)]
            assert h.holding(g) == [(z, 4, False)]
            calls += [call(s), call(t)]
            h.queued(q + 3)
            h.put("hold", g + 1)
            # held on its last try: s's rows met A's and were rolled
            # back out of the group before the hook ran, t's remain
            held = h.holding(g + 1)
            assert sorted(held) == sorted([(s, 4, True), (t, 4, False)]), held
            os.unlink(os.path.join(hooks, "hold"))
            for c in calls:
                c.join(30)
            assert answers[s][0] == 200 and answers[s][1]["version"] == 5, answers
            for sid in (t, z):
                assert answers[sid][0] == 200, answers
                assert answers[sid][1]["version"] == 4, answers
            assert metric(b, "rmapd_commit_conflicts_total") == 1
            # s's and t's rows were in one batch of rows: the group was
            # tried again a row to a statement to find s's
            assert metric(b, "rmapd_commit_row_retries_total") == 1
            assert metric(b, "rmapd_commit_failed_groups_total") == 0
            # t's row went with the group that refused s's: g + 1
            assert metric(b, "rmapd_commit_groups_total") == g + 3
            assert b.request("GET", "/readyz")[0] == 200
            assert replays(b, s) == 5 and replays(b, t) == 4
    finally:
        del os.environ["RMAPD_TEST_COMMIT_DIR"]
        shutil.rmtree(hooks, ignore_errors=True)


def shared_db_reads_are_at_the_journals_head():
    """With --shared-db a session created through A is found through B; B
    answers every read at the version A acknowledged, catching up by the
    missing ops, and B's own writes then meet no conflict."""
    with Nodes() as n:
        a = n.start(["--shared-db"])
        b = n.start(["--shared-db"])
        sid = new_session(a, "s")
        assert b.json("GET", "/api/v1/sessions/%d?view=summary"
                      % sid)["version"] == 3
        for i in range(1, 9):
            v = a.json("POST", ops_url(sid), write_op(i))["version"]
            got = b.json("GET", "/api/v1/sessions/%d?view=summary" % sid)
            assert got["version"] == v, (got["version"], v)
        assert replays(b, sid) == 11
        assert b.json("POST", ops_url(sid), write_op(20))["version"] == 12
        assert a.json("GET", "/api/v1/sessions/%d" % sid)["version"] == 12
        assert metric(b, "rmapd_commit_conflicts_total") == 0
        assert metric(a, "rmapd_commit_conflicts_total") == 0
        assert replays(a, sid) == 12


def rewind_and_delete_through_one_node_are_seen_by_the_other():
    with Nodes() as n:
        a = n.start(["--shared-db"])
        b = n.start(["--shared-db"])
        sid = new_session(a, "s")
        for i in range(1, 6):
            a.json("POST", ops_url(sid), write_op(i))
        assert replays(b, sid) == 8
        a.json("POST", "/api/v1/sessions/%d/rewind" % sid, {"to": 2})
        assert replays(b, sid) == 2
        assert b.json("POST", ops_url(sid), MM)["version"] == 3
        assert replays(a, sid) == 3
        assert a.request("DELETE", "/api/v1/sessions/%d" % sid)[0] == 204
        status, body = b.request("GET", "/api/v1/sessions/%d" % sid)[:2]
        assert status == 404 and body["type"].endswith("no-such-session")


def rewind_that_grows_back_to_the_same_length_is_seen():
    """B holds the session at version 8; through A it is rewound to 2 and
    grows back to 8 with other ops.  The journal's length alone says B is
    up to date: the count of cuts says it is not, and B answers the new
    history (reads and the write it then makes)."""
    with Nodes() as n:
        a = n.start(["--shared-db"])
        b = n.start(["--shared-db"])
        sid = new_session(a, "s")
        a.json("POST", ops_url(sid), {"ops": [write_op(i) for i in range(5)]})
        before = b.state(sid)
        assert replays(b, sid) == 8
        a.json("POST", "/api/v1/sessions/%d/rewind" % sid, {"to": 2})
        a.json("POST", ops_url(sid), {"ops": [
            {"op": "mmap", "pid": 1, "addr": hex(0x7e0000000000 + 4096 * i),
             "len": 4096, "prot": "r--",
             "flags": ["private", "anonymous", "fixed"]} for i in range(6)]})
        assert replays(b, sid) == 8
        assert b.state(sid) != before
        assert b.json("POST", ops_url(sid), write_op(9))["version"] == 9
        assert replays(a, sid) == 9 and replays(b, sid) == 9


def with_hooks(fn):
    """fn(hooks_dir) with the rmapd-hooks binary's directory set."""
    hooks = tempfile.mkdtemp(prefix="rmapd-hooks-")
    os.environ["RMAPD_TEST_COMMIT_DIR"] = hooks
    try:
        fn(hooks)
    finally:
        del os.environ["RMAPD_TEST_COMMIT_DIR"]
        shutil.rmtree(hooks, ignore_errors=True)


def rewind_and_regrowth_before_a_nodes_commit_is_fenced():
    """B takes an op on its copy at version 3 and queues row 4; before its
    transaction begins, A rewinds the session to 1 and grows it back to 3
    with other ops (the mapping B's op writes to is gone).  Row 4 meets no
    row of A's, but the journal was cut since B's copy was made: B's
    commit is refused, B reloads and makes the op again on the new
    history.  Its answer is that of the journal's op 4 (SIGSEGV), never
    the one B's stale copy gave."""
    def run(hooks):
        with Nodes() as n:
            a = n.start(["--shared-db"])
            sid = new_session(a, "s")
            b = n.start(["--shared-db", "--snapshot-every", "0"], exe=HOOKS)
            h = Hooks(b, hooks)
            assert b.json("GET", "/api/v1/sessions/%d" % sid)["version"] == 3
            g = metric(b, "rmapd_commit_groups_total")
            h.put("pause", g)
            answer = {}

            def post():
                answer["got"] = b.request("POST", ops_url(sid),
                                          write_op(1))[:2]
            th = threading.Thread(target=post)
            th.start()
            assert h.holding(g, "pausing") == [(sid, 4, False)]
            a.json("POST", "/api/v1/sessions/%d/rewind" % sid, {"to": 1})
            assert a.json("POST", ops_url(sid), {"ops": [
                {"op": "mmap", "pid": 1, "addr": "0x7e0000000000",
                 "len": 4096, "prot": "rw-",
                 "flags": ["private", "anonymous", "fixed"]},
                {"op": "access", "pid": 1, "addr": "0x7e0000000000",
                 "write": True}]})["version"] == 3
            os.unlink(os.path.join(hooks, "pause"))
            th.join(30)
            status, got = answer["got"]
            assert status == 200 and got["version"] == 4, answer
            journal = a.journal(sid)
            assert [e["op"] for e in journal][3] == write_op(1), journal
            want = journal[3]["result"]
            assert got["results"][0]["error"] == "SIGSEGV", got
            assert {k: got["results"][0][k] for k in want} == want, (got,
                                                                     want)
            assert metric(b, "rmapd_commit_conflicts_total") == 1
            assert metric(b, "rmapd_commit_failed_groups_total") == 0
            assert replays(b, sid) == 4 and replays(a, sid) == 4
    with_hooks(run)


def cli(db, *args):
    return subprocess.run([RMAPD] + list(args) + ["--db", db], check=True,
                          capture_output=True, text=True).stdout.strip()


def as_user(d, token, method, path, body=None):
    return d.request(method, path, body,
                     headers={"Authorization": "Bearer " + token})[0]


def lab(n):
    """alice and bob, students of os101 taught by inst; their tokens."""
    n.all.append(Daemon(RMAPD, db=n.db, args=["--auth", "on"]))
    n.all[-1].start()       # makes the schema, then goes
    n.all[-1].stop()
    for u in ("alice", "bob", "inst"):
        cli(n.db, "user", "add", u)
    cli(n.db, "class", "create", "os101", "--instructor", "inst")
    roster = os.path.join(n.tmp, "roster.csv")
    with open(roster, "w") as f:
        f.write("alice,student,Alice\nbob,student,Bob\n")
    cli(n.db, "class", "enrol", "os101", roster)
    return {u: cli(n.db, "token", "create", u)
            for u in ("alice", "bob", "inst")}


def who_may_read_is_the_same_on_every_node():
    """alice's session, read by bob (her classmate) through B while it is
    shown to their class; alice makes it private through A: B refuses bob
    at once (404), in its list too, though B holds the session in memory.
    Shown again through A, B lets him read it again; a share link made
    and revoked through A holds on B as well."""
    with Nodes() as n:
        tok = lab(n)
        a = n.start(["--shared-db", "--auth", "on"])
        b = n.start(["--shared-db", "--auth", "on"])
        sid = a.request("POST", "/api/v1/sessions", {"name": "s"}, headers={
            "Authorization": "Bearer " + tok["alice"]})[1]["id"]
        url = "/api/v1/sessions/%d" % sid
        vis = url + "/visibility"

        def bob_lists():
            got = b.request("GET", "/api/v1/sessions", headers={
                "Authorization": "Bearer " + tok["bob"]})[1]
            return [x["id"] for x in got]
        assert as_user(b, tok["bob"], "GET", url) == 404
        assert as_user(a, tok["alice"], "POST", vis, {
            "visibility": "class", "class": "os101"}) == 200
        assert as_user(b, tok["bob"], "GET", url) == 200
        assert bob_lists() == [sid]
        assert as_user(a, tok["alice"], "POST", vis,
                       {"visibility": "private"}) == 200
        assert as_user(b, tok["bob"], "GET", url) == 404
        assert as_user(b, tok["bob"], "GET", url + "/events?since=0") == 404
        assert bob_lists() == []
        assert as_user(a, tok["alice"], "POST", vis, {
            "visibility": "class", "class": "os101"}) == 200
        assert as_user(b, tok["bob"], "GET", url + "?view=summary") == 200
        share = a.request("POST", url + "/shares", {}, headers={
            "Authorization": "Bearer " + tok["alice"]})[1]
        assert b.request("GET", url + "?share=" + share["token"])[0] == 200
        assert as_user(a, tok["alice"], "DELETE", url + "/shares/%d"
                       % share["id"]) == 204
        assert b.request("GET", url + "?share=" + share["token"])[0] == 401


def live_lessons_reach_followers_on_another_node():
    """bob follows inst's live lesson with a stream on B; inst sets the
    step, then a walk, through A (the live row is in the database): B's
    stream wakes with event: live and what A set, within the poll."""
    with Nodes() as n:
        tok = lab(n)
        a = n.start(["--shared-db", "--auth", "on"])
        b = n.start(["--shared-db", "--auth", "on"])
        inst = {"Authorization": "Bearer " + tok["inst"]}
        sid = a.request("POST", "/api/v1/sessions", {"name": "lesson"},
                        headers=inst)[1]["id"]
        live = "/api/v1/classes/os101/live"
        assert a.request("POST", live, {"session": sid, "step": 0},
                         headers=inst)[0] == 200

        def follow(out):
            c = http.client.HTTPConnection("127.0.0.1", b.port, timeout=30)
            c.request("GET", "/api/v1/sessions/%d/events?since=0" % sid,
                      headers={"Authorization": "Bearer " + tok["bob"]})
            out["body"] = c.getresponse().read().decode()
            out["at"] = time.time()
        for body, want in (
                ({"session": sid, "step": 3}, '"step":3,"live":true,'
                 '"walk":null'),
                ({"session": sid, "step": 3, "walk": {
                    "pfn": 1, "kind": "rmap_walk", "step": 2}},
                 '"step":3,"live":true,"walk":{"pfn":1,"kind":"rmap_walk",'
                 '"step":2}')):
            got = {}
            t = threading.Thread(target=follow, args=(got,))
            t.start()
            time.sleep(1.5)     # the stream is waiting, its poll has looked
            sent = time.time()
            assert a.request("POST", live, body, headers=inst)[0] == 200
            t.join(30)
            assert 'event: live\ndata: {"version":0,%s}' % want in \
                got["body"], got
            # the poll runs once a second; generous for a loaded CI machine
            assert got["at"] - sent < 10, got["at"] - sent


def postgresql_is_shared_without_the_flag():
    """On PostgreSQL --shared-db is the default: nodes started without it
    still read at the journal's head."""
    with Nodes() as n:
        a, b = n.start(), n.start()
        sid = new_session(a, "s")
        for i in range(1, 4):
            v = a.json("POST", ops_url(sid), write_op(i))["version"]
            assert b.json("GET", "/api/v1/sessions/%d?view=summary"
                          % sid)["version"] == v


def session_ids_are_unique_across_nodes():
    with Nodes() as n:
        a = n.start(["--shared-db"])
        b = n.start(["--shared-db"])
        made = []
        for i in range(6):
            d = (a, b)[i % 2]
            made.append(d.json("POST", "/api/v1/sessions", {"name": "n%d" % i},
                               expect=201)["id"])
        assert len(set(made)) == 6, made
        for d in (a, b):
            listed = [s["id"] for s in d.json("GET", "/api/v1/sessions")]
            assert listed == sorted(made), (listed, made)


def stream(d, sid, query, out):
    """The body of one /events answer from d, and when it ended."""
    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=30)
    c.request("GET", "/api/v1/sessions/%d/events?%s" % (sid, query))
    out["body"] = c.getresponse().read().decode()
    out["at"] = time.time()


def told(body):
    """The (cuts, version) of each version event of a stream's body."""
    return [(int(c), int(v)) for c, v, w in re.findall(
        r'id: (\d+)\.(\d+)\nevent: version\ndata: \{"version":(\d+)\}',
        body) if v == w]


def listen(d, sid, query):
    got = {}
    t = threading.Thread(target=stream, args=(d, sid, query, got))
    t.start()
    time.sleep(0.5)
    return t, got


def events_on_one_node_see_versions_written_through_another():
    """A stream held by B tells every version A acknowledged, one event
    each, in order, within the once-a-second poll of the journal's head:
    a single op, then a batch of four.  A rewind through A is one event at
    the version it left, in the next cuts; a client resuming from the old
    history (since, cuts) is told the same, a client at the head nothing."""
    with Nodes() as n:
        a = n.start(["--shared-db"])
        b = n.start(["--shared-db"])
        sid = new_session(a, "s")
        t, got = listen(b, sid, "since=3")
        sent = time.time()
        a.json("POST", ops_url(sid), write_op(1))
        t.join(25)
        assert told(got["body"]) == [(0, 4)], got
        # the poll runs once a second; generous for a loaded CI machine
        assert got["at"] - sent < 10, got["at"] - sent
        t, got = listen(b, sid, "since=4&cuts=0")
        a.json("POST", ops_url(sid), {"ops": [write_op(i) for i in range(4)]})
        t.join(25)
        assert told(got["body"]) == [(0, 5), (0, 6), (0, 7), (0, 8)], got
        t, got = listen(b, sid, "since=8&cuts=0")
        a.json("POST", "/api/v1/sessions/%d/rewind" % sid, {"to": 2})
        t.join(25)
        assert told(got["body"]) == [(1, 2)], got
        a.json("POST", ops_url(sid), write_op(5))
        got = {}
        stream(b, sid, "since=2&cuts=0", got)
        assert told(got["body"]) == [(1, 3)], got
        got = {}
        stream(a, sid, "since=0&cuts=1", got)
        assert told(got["body"]) == [(1, 1), (1, 2), (1, 3)], got


def main():
    r = Results()
    r.run(stale_node_makes_its_write_again_on_the_reloaded_session)
    r.run(conflict_leaves_the_rest_of_the_group_alone)
    r.run(shared_db_reads_are_at_the_journals_head)
    r.run(rewind_and_delete_through_one_node_are_seen_by_the_other)
    r.run(rewind_that_grows_back_to_the_same_length_is_seen)
    r.run(rewind_and_regrowth_before_a_nodes_commit_is_fenced)
    r.run(who_may_read_is_the_same_on_every_node)
    r.run(live_lessons_reach_followers_on_another_node)
    if rmapd_client.BACKEND == "postgresql":
        r.run(postgresql_is_shared_without_the_flag)
    r.run(session_ids_are_unique_across_nodes)
    r.run(events_on_one_node_see_versions_written_through_another)
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
