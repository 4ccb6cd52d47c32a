"""What the page's class view reads, with --auth on: a class's roster for
its instructor (each member's role, sessions and use), /me's id (what
sessions name their owner by), and a clone of op N as "@N" (a follower's
copy of a live lesson's step, with no snapshot made for it)."""
import os
import subprocess
import sys
import tempfile
import time

from rmapd_client import Daemon, Results

RMAPD = sys.argv[1]
ENV = dict(os.environ, RMAPD_TEST_FAST_KDF="1")
USERS = ("prof", "ann", "bob", "other", "eve")


def cli(db, *args, stdin=None):
    subprocess.run([RMAPD] + list(args) + ["--db", db], input=stdin, text=True,
                   env=ENV, check=True, capture_output=True, timeout=60)


class Lab:
    """os101: prof teaches ann and bob; os202: other teaches eve."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="rmapd-classpage-")
        db = os.path.join(self.dir, "db.sqlite")
        for u in USERS:
            cli(db, "user", "add", u, "--password-stdin", stdin="pw-of-%s!\n" % u)
        cli(db, "class", "create", "os101", "--instructor", "prof")
        cli(db, "class", "create", "os202", "--instructor", "other")
        roster = os.path.join(self.dir, "r.csv")
        with open(roster, "w") as f:
            f.write("user,role,display name\nann,student,Ann\nbob,student,Bob\n")
        cli(db, "class", "enrol", "os101", roster)
        with open(roster, "w") as f:
            f.write("user,role,display name\neve,student,Eve\n")
        cli(db, "class", "enrol", "os202", roster)
        self.d = Daemon(RMAPD, db=db, args=["--auth", "on"]).start()
        self.cookie = {}
        for u in USERS:
            st, _, _, _, h = self.d.request("POST", "/api/v1/login", {
                "name": u, "password": "pw-of-%s!" % u})
            assert st == 200, (u, st)
            self.cookie[u] = h["Set-Cookie"].split(";")[0]

    def req(self, who, method, path, body=None):
        st, b, _, payload, _ = self.d.request(method, path, body, headers={
            "Cookie": self.cookie[who]})
        return st, b, payload

    def ok(self, who, method, path, body=None, expect=200):
        st, b, payload = self.req(who, method, path, body)
        assert st == expect, (who, method, path, st, payload[:200])
        return b

    def cleanup(self):
        self.d.stop()
        self.d.cleanup()


def me_says_the_id_sessions_name_their_owner_by(lab):
    me = lab.ok("ann", "GET", "/api/v1/me")
    s = lab.ok("ann", "POST", "/api/v1/sessions", {"name": "mine"}, 201)
    assert s["owner"] == me["id"] and isinstance(me["id"], int), (me, s)
    assert lab.ok("bob", "GET", "/api/v1/me")["id"] != me["id"]
    lab.ok("ann", "DELETE", "/api/v1/sessions/%d" % s["id"], expect=204)


def a_follower_clones_the_step_shown_as_at_n(lab):
    s = lab.ok("prof", "POST", "/api/v1/sessions", {"name": "lesson"}, 201)
    sid = s["id"]
    lab.ok("prof", "POST", "/api/v1/sessions/%d/ops" % sid, {"ops": [
        {"op": "spawn"}, {"op": "fork", "pid": 1}, {"op": "fork", "pid": 1}]})
    # not live yet: ann may not read it, so she may not clone it
    st, _, _ = lab.req("ann", "POST", "/api/v1/sessions/%d/snapshots/@2/clone" % sid)
    assert st == 404, st
    lab.ok("prof", "POST", "/api/v1/classes/os101/live", {"session": sid, "step": 2})
    me = lab.ok("ann", "GET", "/api/v1/me")
    c = lab.ok("ann", "POST", "/api/v1/sessions/%d/snapshots/@2/clone" % sid,
               expect=201)
    assert c["owner"] == me["id"] and c["version"] == 2, c
    assert c["name"] == "lesson @2", c
    want = lab.ok("prof", "GET", "/api/v1/sessions/%d?version=2" % sid)
    got = lab.ok("ann", "GET", "/api/v1/sessions/%d" % c["id"])
    assert got["processes"] == want["processes"] and got["frames"] == want["frames"]
    # @0 is the empty session; past the journal, or not canonical: no such snapshot
    assert lab.ok("ann", "POST", "/api/v1/sessions/%d/snapshots/@0/clone" % sid,
                  expect=201)["version"] == 0
    for bad in ("@4", "@02", "@-1", "@", "@1x"):
        st, b, _ = lab.req("ann", "POST", "/api/v1/sessions/%d/snapshots/%s/clone"
                           % (sid, bad))
        assert st == 404 and b["type"].endswith("no-such-snapshot"), (bad, st, b)
    # restore never takes @N (rewind does that): the owner's journal stays
    st, b, _ = lab.req("prof", "POST", "/api/v1/sessions/%d/snapshots/@1/restore" % sid)
    assert st == 404 and b["type"].endswith("no-such-snapshot"), (st, b)
    assert lab.ok("prof", "GET", "/api/v1/sessions/%d?view=summary" % sid)["version"] == 3
    # a student of another class follows nothing here
    st, _, _ = lab.req("eve", "POST", "/api/v1/sessions/%d/snapshots/@2/clone" % sid)
    assert st == 404, st
    lab.ok("prof", "DELETE", "/api/v1/classes/os101/live", expect=204)


def no_sanitizer_report(lab):
    log = lab.d.log_text()
    assert not any(w in log for w in ("runtime error", "AddressSanitizer",
                                      "ThreadSanitizer")), log[-1500:]


def main():
    res = Results()
    lab = Lab()
    try:
        for t in (me_says_the_id_sessions_name_their_owner_by,
                  a_follower_clones_the_step_shown_as_at_n,
                  no_sanitizer_report):
            res.run(t, lab)
    finally:
        lab.cleanup()
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
