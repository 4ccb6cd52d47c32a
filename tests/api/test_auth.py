"""Multi-user labs (--auth on): the cross-tenant matrix over every route of
api/openapi.json and every kind of caller, with the exact status of each
cell and no session body reaching a caller who may not read it; tokens,
logins and share links revoked at once; the login rate limit; the
migration of a database made by the rmapd before users (schema 2)."""
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid

from rmapd_client import Daemon, Results, db_rows, new_db, text_bytes

RMAPD = sys.argv[1]
SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
# the last main before users: its schema is the one an existing lab has
SCHEMA2_COMMIT = "5141fee"

ENV = dict(os.environ, RMAPD_TEST_FAST_KDF="1")


def cli(db, *args, stdin=None, expect=0):
    p = subprocess.run([RMAPD] + list(args) + ["--db", db], input=stdin,
                       capture_output=True, text=True, env=ENV, timeout=60)
    assert p.returncode == expect, (args, p.returncode, p.stdout, p.stderr)
    return p.stdout, p.stderr


# ---- the lab: two classes, their staff and students, an admin ----

PEOPLE = [  # name, class, role
    ("admin", None, None),
    ("inst_a", "os101", "instructor"),
    ("ta_a", "os101", "ta"),
    ("alice", "os101", "student"),
    ("bob", "os101", "student"),
    ("inst_b", "os202", "instructor"),
    ("carol", "os202", "student"),
    ("login_user", None, None),
]


class Lab:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="rmapd-auth-")
        self.db = new_db(self.tmp)
        self.tokens = {}
        for name, _, _ in PEOPLE:
            cli(self.db, "user", "add", name, "--password-stdin",
                *(["--admin"] if name == "admin" else []),
                stdin="pw-of-%s\n" % name)
        cli(self.db, "class", "create", "os101", "--instructor", "inst_a")
        cli(self.db, "class", "create", "os202", "--instructor", "inst_b")
        # the class whose join codes the matrix makes and uses
        cli(self.db, "class", "create", "os303", "--instructor", "inst_a")
        for cls in ("os101", "os202"):
            roster = os.path.join(self.tmp, cls + ".csv")
            with open(roster, "w") as f:
                f.write("user,role,display name\n")
                for name, c, role in PEOPLE:
                    if c == cls and role != "instructor":
                        f.write("%s,%s,%s\n" % (name, role, name.title()))
            cli(self.db, "class", "enrol", cls, roster)
        for name, _, _ in PEOPLE:
            self.tokens[name] = self.token(name)
        self.tokens["alice_read"] = self.token("alice", "--scope", "read")
        self.tokens["scrape"] = self.token("admin", "--scope", "scrape")
        revoked = self.token("alice", "--name", "to-revoke")
        self.revoke_last("alice")
        self.tokens["revoked"] = revoked
        self.tokens["expired"] = self.token("alice", "--expires", "1s")
        self.d = Daemon(RMAPD, db=self.db, args=["--auth", "on"])
        time.sleep(2.1)     # the expired token is past its last second
        self.d.start()
        self.inst_session = self.json("inst_a", "POST", "/api/v1/sessions",
                                      {"name": "lecture", "scenario":
                                       "fork-cow"}, expect=201)["id"]

    def token(self, user, *args):
        out, _ = cli(self.db, "token", "create", user, *args)
        return out.strip()

    def revoke_last(self, user):
        out, _ = cli(self.db, "token", "list", user)
        last = out.strip().splitlines()[-1].split("\t")[0]
        cli(self.db, "token", "revoke", last)

    def user_id(self, name):
        return int(db_rows(self.db, "SELECT id FROM users WHERE name = "
                           "'%s'" % name)[0][0])

    def auth(self, who):
        return {"Authorization": "Bearer " + self.tokens[who]}

    def req(self, who, method, path, body=None):
        return self.d.request(method, path, body, headers=self.auth(who))

    def json(self, who, method, path, body=None, expect=200):
        st, b, _, payload, _ = self.req(who, method, path, body)
        assert st == expect, (who, method, path, st, payload[:300])
        return b

    def me(self, who):
        return self.json(who, "GET", "/api/v1/me")

    def fixture(self):
        """A session of alice's (private) with 5 ops, a snapshot s1 after
        op 3, a share link and a share link pinned to op 3; its name is a
        marker that must never reach a caller who may not read it."""
        marker = "secret-" + uuid.uuid4().hex[:12]
        s = self.json("alice", "POST", "/api/v1/sessions", {"name": marker},
                      expect=201)
        sid = s["id"]
        ops = [{"op": "spawn"},
               {"op": "mmap", "pid": 1, "addr": "0x7f0000000000",
                "len": 16384, "prot": "rw-",
                "flags": ["private", "anonymous", "fixed"]},
               {"op": "access", "pid": 1, "addr": "0x7f0000000000",
                "write": True}]
        self.json("alice", "POST", "/api/v1/sessions/%d/ops" % sid,
                  {"ops": ops})
        self.json("alice", "POST", "/api/v1/sessions/%d/snapshots" % sid,
                  {"name": "s1"}, expect=201)
        self.json("alice", "POST", "/api/v1/sessions/%d/ops" % sid,
                  {"ops": [{"op": "access", "pid": 1, "write": True,
                            "addr": "0x7f0000001000"}, {"op": "fork", "pid": 1}]})
        share = self.json("alice", "POST", "/api/v1/sessions/%d/shares" % sid,
                          {}, expect=201)
        pinned = self.json("alice", "POST", "/api/v1/sessions/%d/shares" % sid,
                           {"pin": 3}, expect=201)
        code = self.json("inst_a", "POST", "/api/v1/classes/os303/codes", {},
                         expect=201)
        return {"id": sid, "marker": marker, "share": share["token"],
                "share_id": share["id"], "pinned": pinned["token"],
                "code": code["code"], "code_id": code["id"]}

    def cleanup(self):
        self.d.cleanup()


# ---- who may do what: the test's own copy of the role table ----

CALLERS = ["anonymous", "alice", "bob", "carol", "ta_a", "inst_a", "inst_b",
           "admin", "alice_read", "revoked", "expired", "share", "pinned",
           "scrape"]

# what each caller may do with alice's private session in os101
READS = {"alice", "ta_a", "inst_a", "admin", "alice_read", "share", "pinned"}
WRITES = {"alice", "admin"}
HAS_ACCOUNT = {"alice", "bob", "carol", "ta_a", "inst_a", "inst_b", "admin",
               "alice_read", "scrape"}
BAD = {"revoked", "expired"}

ROUTES = {  # (method, OpenAPI path): what it needs
    ("get", "/healthz"): "nothing",
    ("get", "/readyz"): "nothing",
    ("post", "/api/v1/login"): "nothing",
    ("post", "/api/v1/logout"): "nothing",
    ("get", "/metrics"): "metrics",
    ("get", "/api/v1/me"): "user",
    ("post", "/api/v1/join"): "writer",
    ("get", "/api/v1/classes"): "user",
    ("get", "/api/v1/classes/{class}"): "class",
    ("get", "/api/v1/classes/{class}/members"): "staff",
    ("post", "/api/v1/classes/{class}/lessons"): "staff",
    ("delete", "/api/v1/classes/{class}/lessons/{session}"): "staff",
    ("put", "/api/v1/classes/{class}/quotas"): "instructor",
    ("post", "/api/v1/classes/{class}/codes"): "instructor",
    ("delete", "/api/v1/classes/{class}/codes/{code}"): "instructor",
    ("get", "/api/v1/classes/{class}/live"): "member",
    ("post", "/api/v1/classes/{class}/live"): "instructor",
    ("delete", "/api/v1/classes/{class}/live"): "instructor",
    ("get", "/api/v1/openapi.json"): "user",
    ("get", "/api/v1/scenarios"): "user",
    ("get", "/api/v1/scenarios/{name}"): "user",
    ("get", "/api/v1/sessions"): "user",
    ("post", "/api/v1/sessions"): "writer",
    ("get", "/api/v1/sessions/{id}"): "read",
    ("get", "/api/v1/sessions/{id}/ops"): "read",
    ("get", "/api/v1/sessions/{id}/frames/{pfn}/walk"): "read",
    ("get", "/api/v1/sessions/{id}/check"): "read",
    ("get", "/api/v1/sessions/{id}/graph.dot"): "read",
    ("get", "/api/v1/sessions/{id}/events"): "read_latest",
    ("get", "/api/v1/sessions/{id}/snapshots"): "read_latest",
    ("post", "/api/v1/sessions/{id}/snapshots/{name}/clone"): "clone",
    ("delete", "/api/v1/sessions/{id}"): "owner",
    ("post", "/api/v1/sessions/{id}/ops"): "owner",
    ("post", "/api/v1/sessions/{id}/rewind"): "owner",
    ("post", "/api/v1/sessions/{id}/snapshots"): "owner",
    ("post", "/api/v1/sessions/{id}/snapshots/{name}/restore"): "owner",
    ("post", "/api/v1/sessions/{id}/visibility"): "owner",
    ("get", "/api/v1/sessions/{id}/shares"): "owner",
    ("post", "/api/v1/sessions/{id}/shares"): "owner",
    ("delete", "/api/v1/sessions/{id}/shares/{share}"): "owner",
}

BODIES = {
    ("post", "/api/v1/login"): {"name": "login_user", "password": "pw-of-login_user"},
    ("post", "/api/v1/sessions"): {"name": "made"},
    ("post", "/api/v1/sessions/{id}/ops"): {"op": "spawn"},
    ("post", "/api/v1/sessions/{id}/rewind"): {"to": 1},
    ("post", "/api/v1/sessions/{id}/snapshots"): {"name": "s2"},
    ("post", "/api/v1/sessions/{id}/visibility"): {"visibility": "private"},
    ("post", "/api/v1/sessions/{id}/shares"): {"pin": 1},
    # far above what the matrix's callers use, so that no later cell meets it
    ("put", "/api/v1/classes/{class}/quotas"): {
        "sessions": 10 ** 6, "stored_bytes": 10 ** 12, "ops_per_second": 10 ** 6},
}


def expected(need, caller, success):
    """The status of one cell."""
    if need == "nothing":
        return success
    if caller == "anonymous" or caller in BAD:
        return 401
    if need == "metrics":
        if caller in ("share", "pinned"):
            return 401
        return success if caller in ("admin", "scrape") else 403
    if need == "member":        # of os101
        if caller in ("share", "pinned"):
            return 401
        return 403 if caller in ("carol", "inst_b", "scrape") else success
    if need == "class":         # os101's page: not there for outsiders
        if caller in ("share", "pinned"):
            return 401
        if caller == "scrape":
            return 403
        return 404 if caller in ("carol", "inst_b") else success
    if need == "staff":         # of os101
        if caller in ("share", "pinned"):
            return 401
        return success if caller in ("ta_a", "inst_a", "admin") else 403
    if need == "instructor":
        if caller in ("share", "pinned"):
            return 401
        return success if caller in ("inst_a", "admin") else 403
    if need in ("user", "writer"):
        if caller in ("share", "pinned"):
            return 401
        if caller == "scrape":
            return 403
        if need == "writer" and caller == "alice_read":
            return 403
        return success
    # the session's routes
    if caller not in READS:
        return 404
    if caller == "pinned" and need in ("read_latest", "clone"):
        return 404
    if need in ("read", "read_latest"):
        return success
    if caller in ("share", "pinned"):
        return 401      # may read, has no account to change anything
    if need == "clone":
        return 403 if caller == "alice_read" else success
    return success if caller in WRITES else 403


def url_of(path, f):
    url = (path.replace("{id}", str(f["id"])).replace("{pfn}", "1")
           .replace("{name}", "fork-cow" if "scenarios" in path else "s1")
           .replace("{share}", str(f["share_id"]))
           .replace("{class}", "os303" if "/codes" in path else "os101")
           .replace("{code}", str(f["code_id"]))
           .replace("{session}", str(f["id"])))
    if path.endswith("/events"):
        url += "?since=0"       # behind the session: answers at once
    return url


def cell(lab, f, caller, method, path):
    url = url_of(path, f)
    headers = {}
    if caller in ("share", "pinned"):
        sep = "&" if "?" in url else "?"
        url += sep + "share=" + f[caller]
    elif caller != "anonymous":
        headers = lab.auth(caller)
    body = BODIES.get((method, path))
    if path == "/api/v1/join":
        body = {"code": f["code"]}
    if path.endswith("/live") and method == "post":
        body = {"session": lab.inst_session, "step": 1}
    if path.endswith("/lessons"):
        body = {"session": f["id"]}     # alice's: her staff may read it
    if path.endswith("/lessons/{session}"):
        lab.json("admin", "POST", "/api/v1/classes/os101/lessons",
                 {"session": f["id"]}, expect=201)
    st, b, ct, payload, _ = lab.d.request(method.upper(), url, body,
                                          headers=headers)
    return st, payload, url, body, headers


def matrix_covers_every_route_and_caller(lab):
    doc = lab.json("admin", "GET", "/api/v1/openapi.json")
    routes = [(m, p, ms[m]) for p, ms in doc["paths"].items() for m in ms]
    missing = [(m, p) for m, p, _ in routes if (m, p) not in ROUTES]
    assert not missing, "routes the matrix does not know: %r" % missing
    cells = leaks = 0
    failures = []
    for method, path, spec in routes:
        success = int(next(c for c in spec["responses"] if c.startswith("2")))
        need = ROUTES[(method, path)]
        for caller in CALLERS:
            f = lab.fixture()
            st, payload, url, body, headers = cell(lab, f, caller, method, path)
            want = expected(need, caller, success)
            cells += 1
            if st != want:
                failures.append("%s %s as %s: %d, expected %d: %s" % (
                    method.upper(), path, caller, st, want, payload[:120]))
            if caller not in READS and f["marker"].encode() in payload:
                leaks += 1
                failures.append("LEAK %s %s as %s" % (method, path, caller))
            if want == 404 and "{id}" in path:
                # the very answer a session that does not exist gets
                ghost = url.replace("/%d" % f["id"], "/999999", 1)
                g = lab.d.request(method.upper(), ghost, body, headers=headers)
                if g[0] != 404 or g[3] != payload.replace(
                        b"session %d" % f["id"], b"session 999999"):
                    failures.append("%s %s as %s: 404 differs from a missing "
                                    "session's: %r / %r" % (method, path, caller,
                                                            payload, g[3]))
    assert not failures, "\n".join(failures[:40])
    assert leaks == 0
    assert cells == len(routes) * len(CALLERS) >= 28 * 14, cells
    print("     matrix: %d routes x %d callers = %d cells, 0 leaks" % (
        len(routes), len(CALLERS), cells))


def role_tables_of_code_readme_and_test_agree():
    """daemon/authz.c's rules, the README's table and this test's ROUTES
    name the same routes with the same needs."""
    code = {(m.lower(), p): n.lower().replace("_", "-") for m, p, n in
            re.findall(r'\{ "(\w+)", "([^"]+)", NEED_(\w+), Q_\w+ \}',
                       open(os.path.join(SRC, "daemon", "authz.c")).read())}
    readme = open(os.path.join(SRC, "README.md")).read()
    part = readme.split("## People, classes and who may do what", 1)[1]
    doc = {(m.lower(), p): n for m, p, n in
           re.findall(r"^\| `(\w+) (\S+)` \| ([\w-]+) \|$", part, re.M)}
    ours = {k: v.replace("_", "-") for k, v in ROUTES.items()}
    assert code == ours, set(code.items()) ^ set(ours.items())
    assert doc == ours, set(doc.items()) ^ set(ours.items())


def lists_show_only_what_the_caller_may_read(lab):
    f = lab.fixture()
    for caller in ("alice", "bob", "carol", "ta_a", "inst_a", "inst_b",
                   "admin", "alice_read"):
        st, b, _, payload, _ = lab.req(caller, "GET", "/api/v1/sessions")
        assert st == 200
        seen = f["marker"].encode() in payload
        assert seen == (caller in READS), (caller, seen)
        for s in b:     # every row is one the caller may open
            assert lab.req(caller, "GET", s["url"] + "?view=summary")[0] == 200


def staff_clone_belongs_to_them_and_not_to_the_student(lab):
    f = lab.fixture()
    c = lab.json("ta_a", "POST", "/api/v1/sessions/%d/snapshots/s1/clone"
                 % f["id"], expect=201)
    assert c["owner"] == lab.user_id("ta_a") and c["version"] == 3, c
    assert lab.req("alice", "GET", c["url"])[0] == 404
    lab.json("ta_a", "POST", c["url"] + "/ops", {"op": "spawn"})
    # the original is untouched
    assert lab.json("alice", "GET", "/api/v1/sessions/%d/ops" % f["id"])[
        "version"] == 5


def class_visibility_lets_classmates_read_and_no_one_else(lab):
    f = lab.fixture()
    url = "/api/v1/sessions/%d" % f["id"]
    assert lab.req("bob", "GET", url)[0] == 404
    # alice is in os101 and (by the matrix's join codes) os303: which one?
    st, b, _, _, _ = lab.req("alice", "POST", url + "/visibility",
                             {"visibility": "class"})
    assert st == 422 and b["type"].endswith(":missing-field"), b
    v = lab.json("alice", "POST", url + "/visibility", {"visibility": "class",
                                                        "class": "os101"})
    assert v == {"visibility": "class"}
    assert lab.req("bob", "GET", url)[0] == 200
    assert lab.req("bob", "POST", url + "/ops", {"op": "spawn"})[0] == 403
    assert lab.req("carol", "GET", url)[0] == 404
    assert lab.req("inst_b", "GET", url)[0] == 404
    st, b, _, _, _ = lab.req("alice", "POST", url + "/visibility",
                             {"visibility": "class", "class": "os202"})
    assert st == 422 and b["field"] == "class", b
    lab.json("alice", "POST", url + "/visibility", {"visibility": "private"})
    assert lab.req("bob", "GET", url)[0] == 404


def pinned_share_sees_its_step_alone(lab):
    f = lab.fixture()
    url = "/api/v1/sessions/%d" % f["id"]
    st, b, _, _, _ = lab.d.request("GET", url + "?share=" + f["pinned"])
    assert st == 200 and b["version"] == 3 and "latest" not in b, b
    assert len(b["processes"]) == 1      # before the fork of op 5
    st, _, _, _, _ = lab.d.request("GET", url + "?version=5&share=" + f["pinned"])
    assert st == 404
    st, b, _, _, _ = lab.d.request("GET", url + "/ops?share=" + f["pinned"])
    assert st == 200 and b["version"] == 3 and len(b["ops"]) == 3, b
    st, b, _, _, _ = lab.d.request("GET", url + "?share=" + f["share"])
    assert st == 200 and b["version"] == 5 and len(b["processes"]) == 2
    # Bearer works as well as ?share=
    st, _, _, _, _ = lab.d.request("GET", url, headers={
        "Authorization": "Bearer " + f["share"]})
    assert st == 200


def share_revoked_or_expired_is_refused_at_once(lab):
    f = lab.fixture()
    url = "/api/v1/sessions/%d?view=summary&share=" % f["id"]
    assert lab.d.request("GET", url + f["share"])[0] == 200
    lab.json("alice", "DELETE", "/api/v1/sessions/%d/shares/%d" % (
        f["id"], f["share_id"]), expect=204)
    assert lab.d.request("GET", url + f["share"])[0] == 401
    listed = lab.json("alice", "GET", "/api/v1/sessions/%d/shares" % f["id"])
    assert [s["revoked"] for s in listed["shares"]] == [True, False], listed
    assert "token" not in json.dumps(listed)
    short = lab.json("alice", "POST", "/api/v1/sessions/%d/shares" % f["id"],
                     {"expires_in": 1}, expect=201)
    assert lab.d.request("GET", url + short["token"])[0] == 200
    time.sleep(2.1)  # past the last whole second of its 1
    assert lab.d.request("GET", url + short["token"])[0] == 401
    st, b, _, _, _ = lab.req("alice", "POST", "/api/v1/sessions/%d/shares"
                             % f["id"], {"pin": 99})
    assert st == 422 and b["field"] == "pin", b


def join_codes_invite_expire_and_never_lower_a_role(lab):
    cli(lab.db, "class", "create", "os404", "--instructor", "inst_b")
    ta = lab.json("inst_b", "POST", "/api/v1/classes/os404/codes",
                  {"role": "ta", "expires_in": 2}, expect=201)
    assert ta["role"] == "ta" and ta["code"].startswith("rmj_")
    me = lab.json("bob", "POST", "/api/v1/join", {"code": ta["code"]})
    assert {"name": "os404", "role": "ta"} in me["classes"], me
    # a student code later leaves bob a TA, and inst_b an instructor
    st = lab.json("inst_b", "POST", "/api/v1/classes/os404/codes", {},
                  expect=201)
    me = lab.json("bob", "POST", "/api/v1/join", {"code": st["code"]})
    assert {"name": "os404", "role": "ta"} in me["classes"], me
    me = lab.json("inst_b", "POST", "/api/v1/join", {"code": st["code"]})
    assert {"name": "os404", "role": "instructor"} in me["classes"], me
    assert lab.req("alice_read", "POST", "/api/v1/join",
                   {"code": st["code"]})[0] == 403
    lab.json("inst_b", "DELETE", "/api/v1/classes/os404/codes/%d" % st["id"],
             expect=204)
    st2, b, _, _, _ = lab.req("carol", "POST", "/api/v1/join",
                              {"code": st["code"]})
    assert st2 == 404 and b["type"].endswith(":no-such-code"), b
    time.sleep(3.1)  # a code lives through its last whole second
    st2, b, _, _, _ = lab.req("carol", "POST", "/api/v1/join",
                              {"code": ta["code"]})
    assert st2 == 404, b
    # not os404's instructor: the same 403 as for a class that is not there
    a = lab.req("inst_a", "POST", "/api/v1/classes/os404/codes", {})
    b = lab.req("inst_a", "POST", "/api/v1/classes/nope/codes", {})
    assert a[0] == b[0] == 403 and a[3] == b[3], (a[3], b[3])
    assert lab.req("admin", "POST", "/api/v1/classes/nope/codes", {})[0] == 404


def a_class_follows_its_live_lesson(lab):
    sid = lab.inst_session
    url = "/api/v1/sessions/%d" % sid
    live = "/api/v1/classes/os101/live"
    lab.json("inst_a", "DELETE", live, expect=204)
    assert lab.json("bob", "GET", live) == {"session": None, "step": None,
                                            "walk": None}
    assert lab.req("bob", "GET", url + "?view=summary")[0] == 404
    st, b, _, _, _ = lab.req("inst_a", "POST", live, {"session": lab.fixture()[
        "id"]})
    assert st == 422 and b["field"] == "session", b     # not inst_a's
    got = lab.json("inst_a", "POST", live, {"session": sid, "step": 2})
    assert got == {"session": sid, "step": 2, "walk": None, "url": url}, got
    assert lab.json("bob", "GET", live)["step"] == 2
    assert lab.req("bob", "GET", url + "?view=summary")[0] == 200
    assert lab.req("bob", "POST", url + "/ops", {"op": "spawn"})[0] == 403
    assert lab.req("carol", "GET", url + "?view=summary")[0] == 404
    assert lab.req("carol", "GET", live)[0] == 403
    # a follower's event stream wakes when the instructor moves on
    version = lab.json("bob", "GET", url + "?view=summary")["version"]
    import threading
    woke = {}

    def follow():
        t = time.time()
        got = lab.req("bob", "GET", url + "/events?since=%d" % version)
        woke["status"], woke["payload"] = got[0], got[3]
        woke["after"] = time.time() - t
    th = threading.Thread(target=follow)
    th.start()
    time.sleep(0.5)
    lab.json("inst_a", "POST", live, {"session": sid, "step": 3})
    th.join(30)
    assert woke["status"] == 200 and woke["after"] < 3, woke
    # the stream brings the step: followers follow the lesson, not only
    # the state
    assert (b'event: live\ndata: {"version":%d,"step":3,"live":true,'
            b'"walk":null}\n\n' % version) in woke["payload"], woke
    a_live_walk_is_followed(lab, sid, version)
    lab.json("inst_a", "DELETE", live, expect=204)
    assert lab.req("bob", "GET", url + "?view=summary")[0] == 404
    assert lab.json("bob", "GET", live)["walk"] is None


def a_live_walk_is_followed(lab, sid, version):
    """The instructor's walk goes with the live step: checked (a bad one is
    422 and changes nothing), kept, and brought by the followers' stream."""
    url = "/api/v1/sessions/%d" % sid
    live = "/api/v1/classes/os101/live"
    pfn = lab.json("inst_a", "GET", url)["frames"][0]["pfn"]
    walk = {"pfn": pfn, "kind": "rmap_walk", "step": 2}
    got = lab.json("inst_a", "POST", live, {"session": sid, "step": 3,
                                            "walk": walk})
    assert got == {"session": sid, "step": 3, "walk": walk, "url": url}, got
    assert lab.json("bob", "GET", live) == got
    for bad, field in (
            (dict(walk, kind="try_to_unmap"), "walk.kind"),
            (dict(walk, kind="folio_referenced"), "walk.kind"),
            ({"pfn": pfn, "step": 2}, "walk.kind"),
            (dict(walk, pfn=-1), "pfn"),
            (dict(walk, pfn=1.5), "pfn"),
            (dict(walk, step="2"), "step"),
            ({"pfn": pfn, "kind": "rmap_walk"}, "walk"),
            (dict(walk, pfn=None), "walk"),
            (dict(walk, why=1), "why"),
            ([pfn, 2], "walk"),
            ("rmap_walk", "walk")):
        st, b, ct, payload, _ = lab.req("inst_a", "POST", live, {
            "session": sid, "step": 4, "walk": bad})
        assert st == 422 and ct == "application/problem+json" and \
            b["field"] == field, (bad, st, payload)
        assert lab.json("bob", "GET", live) == got, bad
    # a step, then the end of the walk: each wakes the followers with it
    import threading
    for walk, text in ((dict(walk, step=3), b'{"pfn":%d,"kind":"rmap_walk",'
                        b'"step":3}' % pfn), (None, b"null")):
        woke = {}

        def follow():
            woke["got"] = lab.req("bob", "GET", url + "/events?since=%d"
                                  % version)
        th = threading.Thread(target=follow)
        th.start()
        time.sleep(0.5)
        body = {"session": sid, "step": 3}
        if walk:
            body["walk"] = walk
        assert lab.json("inst_a", "POST", live, body)["walk"] == walk
        th.join(30)
        assert (b'event: live\ndata: {"version":%d,"step":3,"live":true,'
                b'"walk":%s}\n\n' % (version, text)) in woke["got"][3], woke
        assert lab.json("bob", "GET", live)["walk"] == walk


def a_class_page_lists_its_lessons_and_its_staff_see_the_roster(lab):
    t0 = int(time.time())
    mine = lab.json("alice", "GET", "/api/v1/classes")
    assert {"id": mine[0]["id"], "name": "os101", "role": "student"} in mine
    assert "os202" not in [c["name"] for c in mine], mine
    every = lab.json("admin", "GET", "/api/v1/classes")
    assert {c["name"] for c in every} >= {"os101", "os202", "os303"}
    assert {c["role"] for c in every} == {"admin"}, every
    # a lesson of inst_a's, published: the class reads it, no one else
    s = lab.json("inst_a", "POST", "/api/v1/sessions", {
        "name": "lesson-cow", "scenario": "fork-cow"}, expect=201)
    url = "/api/v1/sessions/%d" % s["id"]
    assert lab.req("bob", "GET", url + "?view=summary")[0] == 404
    got = lab.json("inst_a", "POST", "/api/v1/classes/os101/lessons",
                   {"session": s["id"]}, expect=201)
    assert got == {"session": s["id"], "name": "lesson-cow",
                   "version": s["version"]}, got
    page = lab.json("bob", "GET", "/api/v1/classes/os101")
    assert page["name"] == "os101" and page["role"] == "student", page
    assert got in page["lessons"], page
    assert lab.req("bob", "GET", url + "?view=summary")[0] == 200
    assert lab.req("bob", "POST", url + "/ops", {"op": "spawn"})[0] == 403
    # outsiders: the very answer a class that does not exist gets
    a = lab.req("carol", "GET", "/api/v1/classes/os101")
    b = lab.req("carol", "GET", "/api/v1/classes/os1o1")
    assert a[0] == b[0] == 404 and a[3] == b[3].replace(b"os1o1", b"os101")
    assert lab.req("carol", "GET", url + "?view=summary")[0] == 404
    # the live lesson is on the page too
    lab.json("inst_a", "POST", "/api/v1/classes/os101/live",
             {"session": s["id"], "step": 2})
    assert lab.json("bob", "GET", "/api/v1/classes/os101")["live"] == {
        "session": s["id"], "step": 2}
    lab.json("inst_a", "DELETE", "/api/v1/classes/os101/live", expect=204)
    assert lab.json("bob", "GET", "/api/v1/classes/os101")["live"] is None
    # a session staff may not read is not theirs to publish
    theirs = lab.json("carol", "POST", "/api/v1/sessions", {"name": "c"},
                      expect=201)
    st, b, _, _, _ = lab.req("ta_a", "POST", "/api/v1/classes/os101/lessons",
                             {"session": theirs["id"]})
    assert st == 422 and b["field"] == "session", b
    st, b, _, _, _ = lab.req("ta_a", "POST", "/api/v1/classes/os101/lessons",
                             {"session": 999999})
    assert st == 422 and b["field"] == "session", b
    # unpublished: private again, and gone from the page
    lab.json("ta_a", "DELETE", "/api/v1/classes/os101/lessons/%d" % s["id"],
             expect=204)
    assert got not in lab.json("bob", "GET", "/api/v1/classes/os101")["lessons"]
    assert lab.req("bob", "GET", url + "?view=summary")[0] == 404
    st, b, _, _, _ = lab.req("ta_a", "DELETE", "/api/v1/classes/os101/lessons/"
                             "%d" % s["id"])
    assert st == 404 and b["type"].endswith(":no-such-lesson"), b
    # the roster: a student's sessions with their last activity
    f = lab.fixture()
    t1 = int(time.time())
    roster = lab.json("ta_a", "GET", "/api/v1/classes/os101/members")
    assert [m["name"] for m in roster] == sorted(m["name"] for m in roster)
    row = next(m for m in roster if m["name"] == "alice")
    assert row["role"] == "student" and row["user"] == lab.user_id("alice")
    assert row["display"] == db_rows(lab.db, "SELECT display FROM users "
                                     "WHERE name = 'alice'")[0][0]
    mine = [x for x in row["sessions"] if x["id"] == f["id"]]
    assert len(mine) == 1 and mine[0]["version"] == 5, mine
    assert t0 <= mine[0]["last_activity"] <= t1 + 1, (t0, mine, t1)
    row["sessions"] = len(row["sessions"])     # short failure messages
    owned, stored = (int(v) for v in db_rows(lab.db, (
        "SELECT COUNT(*), (SELECT SUM(%s) FROM journal JOIN sessions s ON "
        "s.id = session WHERE s.owner = %d) FROM sessions WHERE owner = %d")
        % (text_bytes(lab.db, "op"), row["user"], row["user"]))[0])
    when = int(db_rows(lab.db, "SELECT last_activity FROM sessions WHERE "
                       "id = %d" % f["id"])[0][0])
    # its first op was written through at once (later ones once a minute)
    assert t0 <= when <= mine[0]["last_activity"], (when, mine)
    assert row["use"]["sessions"] == owned == row["sessions"], row
    # at least the journal's bytes (the snapshots' besides)
    assert row["use"]["stored_bytes"] >= stored > 0, (row["use"], stored)
    assert row["use"]["ops_per_second"] > 0, row["use"]
    assert set(row["quota"]) == {"sessions", "stored_bytes", "ops_per_second"}
    # staff of os101 see only what they may read: not inst_a's own sessions
    inst = next(m for m in roster if m["name"] == "inst_a")
    assert s["id"] not in [x["id"] for x in inst["sessions"]], inst
    assert inst["use"]["sessions"] > len(inst["sessions"]), inst
    assert lab.req("alice", "GET", "/api/v1/classes/os101/members")[0] == 403
    # the instructor's defaults show in the roster
    q = {"sessions": 10 ** 6 - 1, "stored_bytes": 10 ** 12,
         "ops_per_second": 10 ** 6}
    assert lab.json("inst_a", "PUT", "/api/v1/classes/os101/quotas", q) == q
    row = next(m for m in lab.json("inst_a", "GET",
                                   "/api/v1/classes/os101/members")
               if m["name"] == "bob")
    assert row["quota"] == q, row
    st, b, _, _, _ = lab.req("inst_a", "PUT", "/api/v1/classes/os101/quotas",
                             {"sessions": 5})
    assert st == 422 and b["field"] == "stored_bytes", b
    assert lab.req("ta_a", "PUT", "/api/v1/classes/os101/quotas", q)[0] == 403


def rosters_read_at_once_all_answer(lab):
    """Sixteen staff reads of the roster at once: each row's queries run
    after the roster's own, never inside it (a query inside another holds
    two of the database's four readers, and eight threads doing so took
    them all and hung)."""
    import threading
    got = []

    # os202: a short roster of few sessions, quick in the sanitized builds
    def reader(who):
        for _ in range(8):
            got.append(lab.req(who, "GET", "/api/v1/classes/os202/members")[0])
    ts = [threading.Thread(target=reader, args=(w,)) for w in
          ("inst_b", "admin") * 8]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert not any(t.is_alive() for t in ts), "roster reads hung"
    assert got == [200] * 128, got


def token_revocation_holds_from_the_next_request(lab):
    tok = lab.token("bob", "--name", "soon-revoked")
    h = {"Authorization": "Bearer " + tok}
    assert lab.d.request("GET", "/api/v1/me", headers=h)[0] == 200
    lab.revoke_last("bob")      # through the CLI, the daemon running
    st, b, _, _, hdrs = lab.d.request("GET", "/api/v1/me", headers=h)
    assert st == 401 and b["type"].endswith(":invalid-credentials"), b
    assert hdrs.get("WWW-Authenticate", "").startswith("Bearer"), hdrs


def access_follows_a_membership_change_at_once(lab):
    """What a caller may read is kept in memory, and a membership made by
    the CLI (another process) or through the API holds from the next
    request."""
    f = lab.fixture()
    url = "/api/v1/sessions/%d?view=summary" % f["id"]
    for _ in range(2):
        assert lab.req("carol", "GET", url)[0] == 404
        assert lab.req("inst_b", "GET", url)[0] == 404
    roster = os.path.join(lab.tmp, "carol-ta.csv")
    with open(roster, "w") as fh:
        fh.write("carol,ta,Carol\n")
    cli(lab.db, "class", "enrol", "os101", roster)
    assert lab.req("carol", "GET", url)[0] == 200
    code = lab.json("inst_a", "POST", "/api/v1/classes/os101/codes",
                    {"role": "ta"}, expect=201)
    assert lab.req("inst_b", "GET", url)[0] == 404
    lab.json("inst_b", "POST", "/api/v1/join", {"code": code["code"]})
    assert lab.req("inst_b", "GET", url)[0] == 200


def user_removal_holds_from_the_next_request(lab):
    cli(lab.db, "user", "add", "gone", "--password-stdin", stdin="pw-of-gone\n")
    h = {"Authorization": "Bearer " + lab.token("gone")}
    assert lab.d.request("GET", "/api/v1/me", headers=h)[0] == 200
    assert lab.d.request("GET", "/api/v1/me", headers=h)[0] == 200
    cli(lab.db, "user", "remove", "gone")
    assert lab.d.request("GET", "/api/v1/me", headers=h)[0] == 401


def login_sets_a_strict_cookie_and_logout_ends_it(lab):
    st, b, _, _, hdrs = lab.d.request(
        "POST", "/api/v1/login", raw=b"name=bob&password=pw-of-bob",
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert st == 200 and b["name"] == "bob" and b["via"] == "cookie", b
    assert {"name": "os101", "role": "student"} in b["classes"], b
    cookie = hdrs["Set-Cookie"]
    parts = [p.strip() for p in cookie.split(";")]
    assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= set(parts), cookie
    jar = {"Cookie": parts[0]}
    assert lab.d.request("GET", "/api/v1/me", headers=jar)[1]["name"] == "bob"
    s = lab.d.request("POST", "/api/v1/sessions", {"name": "by-cookie"},
                      headers=jar)
    assert s[0] == 201 and s[1]["owner"] == lab.user_id("bob")
    st, _, _, _, hdrs = lab.d.request("POST", "/api/v1/logout", headers=jar)
    assert st == 204 and "Max-Age=0" in hdrs["Set-Cookie"]
    assert lab.d.request("GET", "/api/v1/me", headers=jar)[0] == 401
    # JSON works as well; a wrong password is 401 and names no field value
    st, b, _, _, _ = lab.d.request("POST", "/api/v1/login",
                                   {"name": "bob", "password": "nope"})
    assert st == 401 and "nope" not in json.dumps(b)


def failed_logins_are_limited_per_user_and_per_address():
    lab = Lab()
    try:
        d = lab.d
        for _ in range(5):
            assert d.request("POST", "/api/v1/login",
                             {"name": "bob", "password": "wrong"})[0] == 401
        # the right password too waits now: guessing stays slow
        st, b, _, _, hdrs = d.request("POST", "/api/v1/login",
                                      {"name": "bob", "password": "pw-of-bob"})
        assert st == 429 and 1 <= int(hdrs["Retry-After"]) <= 60, (st, hdrs)
        # another user from the same address is not held back yet
        assert d.request("POST", "/api/v1/login", {
            "name": "carol", "password": "pw-of-carol"})[0] == 200
        for i in range(15):     # 20 failures from this address in all
            d.request("POST", "/api/v1/login",
                      {"name": "nobody%d" % i, "password": "x"})
        st, _, _, _, hdrs = d.request("POST", "/api/v1/login", {
            "name": "carol", "password": "pw-of-carol"})
        assert st == 429 and "Retry-After" in hdrs
        # tokens are not logins: they still work
        assert lab.req("carol", "GET", "/api/v1/me")[0] == 200
    finally:
        lab.cleanup()


def metrics_need_an_admin_or_a_scrape_token(lab):
    st, _, ct, payload, _ = lab.req("scrape", "GET", "/metrics")
    assert st == 200 and ct.startswith("text/plain") and b"rmapd_" in payload
    assert lab.req("scrape", "GET", "/api/v1/sessions")[0] == 403
    assert lab.req("inst_a", "GET", "/metrics")[0] == 403


# ---- the migration of a database from before users ----

def schema2_sql():
    """The CREATE statements of schema 2, from db.c as it was on main."""
    src = subprocess.run(["git", "-C", SRC, "show", SCHEMA2_COMMIT + ":db/db.c"],
                         capture_output=True, text=True, check=True).stdout
    assert "#define SCHEMA_VERSION\t2" in src
    block = src[src.index("migrations[SCHEMA_VERSION] = {"):]
    block = block[:block.index("};")]
    return [bytes("".join(re.findall(r'"((?:[^"\\]|\\.)*)"', part)),
                  "utf-8").decode("unicode_escape")
            for part in block.split(",\n\t") if '"' in part]


def migration_gives_old_sessions_to_a_new_admin():
    tmp = tempfile.mkdtemp(prefix="rmapd-migrate-")
    old = os.path.join(tmp, "old.sqlite")
    # the rows of two sessions, as today's rmapd journals them
    d = Daemon(RMAPD).start()
    try:
        rows = []
        for name in ("lesson-one", "lesson-two"):
            s = d.json("POST", "/api/v1/sessions", {"name": name,
                                                    "scenario": "fork-cow"},
                       expect=201)
            rows.append((name, d.journal(s["id"])))
    finally:
        d.cleanup()
    c = sqlite3.connect(old)
    for sql in schema2_sql():
        c.executescript(sql)
    c.execute("PRAGMA user_version = 2")
    for name, journal in rows:
        cur = c.execute("INSERT INTO sessions(name, config) VALUES(?, ?)",
                        (name, json.dumps({"mode": "normal", "zero_page": True,
                                           "overcommit_memory": 0})))
        for e in journal:
            c.execute("INSERT INTO journal VALUES(?, ?, ?, ?)",
                      (cur.lastrowid, e["seq"], json.dumps(e["op"]),
                       json.dumps(e["result"])))
    c.commit()
    c.close()
    d = Daemon(RMAPD, db=old, args=["--auth", "on"]).start()
    try:
        log = d.log_text()
        assert "the 2 existing sessions now belong to the new admin user " \
               "'admin'" in log, log
        assert d.request("GET", "/api/v1/sessions")[0] == 401
        # the admin has no password until the operator gives it one
        assert d.request("POST", "/api/v1/login", {"name": "admin",
                                                   "password": ""})[0] == 401
        cli(old, "user", "passwd", "admin", "--password-stdin",
            stdin="a-new-password\n")
        cli(old, "user", "add", "stu", "--password-stdin", stdin="stu-pass-1\n")
        st, me, _, _, hdrs = d.request("POST", "/api/v1/login", {
            "name": "admin", "password": "a-new-password"})
        assert st == 200 and me["admin"], me
        jar = {"Cookie": hdrs["Set-Cookie"].split(";")[0]}
        listed = d.request("GET", "/api/v1/sessions", headers=jar)[1]
        assert [s["name"] for s in listed] == ["lesson-one", "lesson-two"]
        for s, (_, journal) in zip(listed, rows):
            assert s["version"] == len(journal) and s["owner"] == 1, s
        st, b, _, _, hdrs = d.request("POST", "/api/v1/login", {
            "name": "stu", "password": "stu-pass-1"})
        stu = {"Cookie": hdrs["Set-Cookie"].split(";")[0]}
        assert d.request("GET", "/api/v1/sessions", headers=stu)[1] == []
        assert d.request("GET", listed[0]["url"], headers=stu)[0] == 404
        d.stop()
        with sqlite3.connect(old) as c:
            assert c.execute("PRAGMA user_version").fetchone()[0] == 7
        # opened again: nothing more to migrate, nothing said
        d.start()
        assert "existing sessions now belong" not in d.log_text().split(
            "signal 15")[-1]
    finally:
        d.cleanup()


# ---- quotas ----

def small_lab(names, instructor, student):
    """A database with users names (root an admin), class os101 taught by
    instructor with one student; their tokens' headers."""
    tmp = tempfile.mkdtemp(prefix="rmapd-quota-")
    db = new_db(tmp)
    for name in names:
        cli(db, "user", "add", name, *(["--admin"] if name == "root" else []))
    cli(db, "class", "create", "os101", "--instructor", instructor)
    roster = os.path.join(tmp, "r.csv")
    with open(roster, "w") as f:
        f.write("%s,student,%s\n" % (student, student.title()))
    cli(db, "class", "enrol", "os101", roster)
    tok = {n: {"Authorization": "Bearer " + cli(db, "token", "create", n)[0]
               .strip()} for n in names}
    return db, tok


def quotas_are_429_with_retry_after():
    db, tok = small_lab(("ann", "ben", "root"), "root", "ben")
    cli(db, "quota", "set", "--class", "os101", "sessions", "1")
    d = Daemon(RMAPD, db=db, args=["--auth", "on", "--quota-sessions", "2",
                                   "--quota-ops-rate", "2"]).start()
    try:
        def new(who, expect):
            st, b, _, _, h = d.request("POST", "/api/v1/sessions",
                                       {"name": "q"}, headers=tok[who])
            assert st == expect, (who, st, b)
            return b if st == 201 else h
        a1 = new("ann", 201)
        new("ann", 201)
        h = new("ann", 429)             # the operator's default: 2
        assert int(h["Retry-After"]) > 0, h
        st, b, _, _, h = d.request("POST", a1["url"] + "/snapshots",
                                   {"name": "s"}, headers=tok["ann"])
        st, b, _, _, h = d.request("POST", a1["url"] + "/snapshots/s/clone",
                                   headers=tok["ann"])
        assert st == 429 and b["type"].endswith(":quota-exceeded"), b
        new("ben", 201)
        new("ben", 429)                 # his class's default: 1
        for _ in range(3):
            new("root", 201)            # admins have none
        me = d.request("GET", "/api/v1/me", headers=tok["ann"])[1]
        assert me["quotas"] == {"sessions": {"limit": 2, "used": 2},
                                "ops_rate": {"limit": 2}}, me
        cli(db, "quota", "set", "--user", "ann", "sessions", "3")
        new("ann", 201)                 # her own, above the default
        # 2 ops a second in bursts of 20: 25 at once go, then a wait
        batch = {"ops": [{"op": "spawn"}] * 25}
        st, b, _, _, _ = d.request("POST", a1["url"] + "/ops", batch,
                                   headers=tok["ann"])
        assert st == 200 and len(b["results"]) == 25, (st, b)
        st, b, _, _, h = d.request("POST", a1["url"] + "/ops", {"op": "spawn"},
                                   headers=tok["ann"])
        assert st == 429 and 2 <= int(h["Retry-After"]) <= 4, (st, h, b)
        assert d.json("GET", "/healthz")["status"] == "ok"
        versions = d.request("GET", a1["url"] + "/ops", headers=tok["ann"])
        assert versions[1]["version"] == 25, versions[1]["version"]
        time.sleep(int(h["Retry-After"]))
        st, _, _, _, _ = d.request("POST", a1["url"] + "/ops", {"op": "spawn"},
                                   headers=tok["ann"])
        assert st == 200
    finally:
        d.cleanup()


def stored_state_quota_is_429_and_changes_nothing():
    """Past --quota-stored-bytes (journal and snapshot rows of the user's
    sessions, in bytes) an op, a snapshot or a new session is 429 with
    Retry-After and nothing is stored; an instructor's class default may
    lower it, never raise it past the ceiling."""
    db, tok = small_lab(("ann", "prof", "root"), "prof", "ann")
    limit = 2000
    d = Daemon(RMAPD, db=db, args=["--auth", "on", "--snapshot-every", "0",
                                   "--quota-stored-bytes", str(limit),
                                   "--quota-sessions", "10"]).start()

    def stored(user):
        return int(db_rows(db, (
            "SELECT (SELECT COALESCE(SUM(%s), 0) FROM journal JOIN sessions "
            "s ON s.id = session WHERE s.owner = u.id) + (SELECT COALESCE("
            "SUM(LENGTH(dump)), 0) FROM snapshots JOIN sessions s ON s.id = "
            "session WHERE s.owner = u.id) FROM users u WHERE name = '%s'")
            % (text_bytes(db, "op"), user))[0][0])
    try:
        s = d.request("POST", "/api/v1/sessions", {"name": "a"},
                      headers=tok["ann"])[1]
        op = {"op": "file", "name": "f" * 40, "pages": 1}
        accepted = 0
        snap = False
        while True:
            before = stored("ann")
            st, b, _, _, h = d.request("POST", s["url"] + "/ops", op,
                                       headers=tok["ann"])
            if st == 429:
                break
            assert st == 200 and b["results"][0]["ok"], (st, b)
            accepted += 1
            op = {"op": "file", "name": "f%d" % accepted + "x" * 40,
                  "pages": 1}
            if not snap and stored("ann") > limit // 2:
                # a named snapshot is stored state too
                assert d.request("POST", s["url"] + "/snapshots",
                                 {"name": "half"}, headers=tok["ann"])[0] == 201
                snap = True
            assert accepted < 200, "never refused"
        # refused exactly once what is stored reached the quota
        assert before >= limit and snap, (before, limit)
        assert b["type"].endswith(":quota-exceeded") and \
            str(limit) in b["detail"], b
        assert int(h["Retry-After"]) > 0, h
        version = d.request("GET", s["url"] + "?view=summary",
                            headers=tok["ann"])[1]["version"]
        assert version == accepted, (version, accepted)
        assert stored("ann") == before, (stored("ann"), before)
        for method, url, body in (
                ("POST", s["url"] + "/snapshots", {"name": "more"}),
                ("POST", "/api/v1/sessions", {"name": "b"}),
                ("POST", s["url"] + "/snapshots/half/clone", None)):
            st, b, _, _, h = d.request(method, url, body, headers=tok["ann"])
            assert st == 429 and "Retry-After" in h, (url, st, b)
        assert stored("ann") == before, (stored("ann"), before)
        assert len(d.request("GET", "/api/v1/sessions",
                             headers=tok["ann"])[1]) == 1
        # the operator's ceiling bounds the instructor's default
        q = {"sessions": 10, "stored_bytes": limit + 1, "ops_per_second": 0}
        st, b, _, _, _ = d.request("PUT", "/api/v1/classes/os101/quotas", q,
                                   headers=tok["prof"])
        assert st == 422 and b["type"].endswith(":above-ceiling") and \
            b["field"] == "stored_bytes", b
        q["stored_bytes"] = limit
        st, b, _, _, _ = d.request("PUT", "/api/v1/classes/os101/quotas", q,
                                   headers=tok["prof"])
        assert st == 200 and b == q, b      # no ceiling on ops a second
        roster = d.request("GET", "/api/v1/classes/os101/members",
                           headers=tok["prof"])[1]
        ann = next(m for m in roster if m["name"] == "ann")
        assert ann["quota"] == {"sessions": 10, "stored_bytes": limit,
                                "ops_per_second": None}, ann
        assert ann["use"]["stored_bytes"] == before, (ann, before)
        # admins have none
        r = d.request("POST", "/api/v1/sessions", {"name": "r"},
                      headers=tok["root"])[1]
        for i in range(3):
            st, b, _, _, _ = d.request("POST", r["url"] + "/ops", {
                "op": "file", "name": "g%d" % i + "x" * 40, "pages": 1},
                headers=tok["root"])
            assert st == 200, (st, b)
    finally:
        d.cleanup()


def concurrent_callers_get_exact_answers():
    """Eight threads at once: logins (right and wrong), tokens, quota'd
    ops, share links; every answer is one the rules allow, and (in the
    sanitized builds) nothing races."""
    import threading
    tmp = tempfile.mkdtemp(prefix="rmapd-conc-")
    db = new_db(tmp)
    names = ["u%d" % i for i in range(8)]
    for n in names:
        cli(db, "user", "add", n, "--password-stdin", stdin="pw-%s-long\n" % n)
    tok = {n: cli(db, "token", "create", n)[0].strip() for n in names}
    d = Daemon(RMAPD, db=db, args=["--auth", "on", "--quota-ops-rate", "50",
                                   "--quota-sessions", "3"]).start()
    bad = []

    def worker(n):
        h = {"Authorization": "Bearer " + tok[n]}
        s = d.request("POST", "/api/v1/sessions", {"name": n}, headers=h)[1]
        share = d.request("POST", s["url"] + "/shares", {}, headers=h)[1]
        for i in range(30):
            want = {
                ("POST", s["url"] + "/ops", '{"op":"spawn"}'): {200, 429},
                ("POST", "/api/v1/login", '{"name":"%s","password":"%s"}' % (
                    n, "pw-%s-long" % n if i % 2 else "wrong")): {200, 401, 429},
                ("GET", "/api/v1/me", None): {200},
                ("GET", "/api/v1/sessions", None): {200},
                ("GET", s["url"] + "?view=summary&share=" + share["token"],
                 None): {200},
                ("POST", "/api/v1/sessions", '{"name":"more"}'): {201, 429},
            }
            for (m, url, body), ok in want.items():
                hd = {} if "share=" in url or "login" in url else h
                st, b, _, payload, _ = d.request(
                    m, url, raw=body.encode() if body else None, headers=hd)
                if st not in ok:
                    bad.append((n, m, url, st, payload[:120]))
                if m == "GET" and url == "/api/v1/sessions" and st == 200:
                    if any(x["owner"] != b[0]["owner"] for x in b):
                        bad.append((n, "someone else's session listed"))
    try:
        ts = [threading.Thread(target=worker, args=(n,)) for n in names]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert not bad, bad[:5]
        log = d.log_text()
        assert not any(w in log for w in ("runtime error", "AddressSanitizer",
                                          "ThreadSanitizer")), log[-2000:]
    finally:
        d.cleanup()


# ---- flags ----

def allow_remote_without_auth_is_said_in_readyz():
    d = Daemon(RMAPD, args=["--allow-remote"]).start()
    try:
        r = d.json("GET", "/readyz")
        assert r["auth"] == "off" and "--allow-remote" in r["warning"], r
    finally:
        d.cleanup()
    d = Daemon(RMAPD, args=["--auth", "on"]).start()
    try:
        r = d.json("GET", "/readyz")
        assert r["auth"] == "on" and "warning" not in r, r
        assert "no users yet" in d.log_text()
    finally:
        d.cleanup()


def open_mode_is_as_before():
    d = Daemon(RMAPD).start()
    try:
        s = d.json("POST", "/api/v1/sessions", {"name": "open"}, expect=201)
        assert s["owner"] is None and s["visibility"] == "private"
        assert d.json("GET", "/api/v1/me") == {"name": None, "auth": "off"}
        assert len(d.json("GET", "/api/v1/sessions")) == 1
        st, b, _, _, _ = d.request("POST", "/api/v1/login",
                                   {"name": "x", "password": "y"})
        assert st == 404 and b["type"].endswith(":auth-off")
    finally:
        d.cleanup()


def no_sanitizer_report(lab):
    log = lab.d.log_text()
    assert not any(w in log for w in ("runtime error", "AddressSanitizer",
                                      "ThreadSanitizer")), \
        log[-1500:]


def main():
    res = Results()
    lab = Lab()
    try:
        for t in (matrix_covers_every_route_and_caller,
                  lists_show_only_what_the_caller_may_read,
                  staff_clone_belongs_to_them_and_not_to_the_student,
                  class_visibility_lets_classmates_read_and_no_one_else,
                  pinned_share_sees_its_step_alone,
                  share_revoked_or_expired_is_refused_at_once,
                  join_codes_invite_expire_and_never_lower_a_role,
                  a_class_follows_its_live_lesson,
                  a_class_page_lists_its_lessons_and_its_staff_see_the_roster,
                  rosters_read_at_once_all_answer,
                  token_revocation_holds_from_the_next_request,
                  login_sets_a_strict_cookie_and_logout_ends_it,
                  metrics_need_an_admin_or_a_scrape_token,
                  user_removal_holds_from_the_next_request,
                  # last: carol and inst_b become TAs of os101
                  access_follows_a_membership_change_at_once):
            res.run(t, lab)
        res.run(no_sanitizer_report, lab)
    finally:
        lab.cleanup()
    for t in (role_tables_of_code_readme_and_test_agree,
              failed_logins_are_limited_per_user_and_per_address,
              migration_gives_old_sessions_to_a_new_admin,
              quotas_are_429_with_retry_after,
              stored_state_quota_is_429_and_changes_nothing,
              concurrent_callers_get_exact_answers,
              allow_remote_without_auth_is_said_in_readyz,
              open_mode_is_as_before):
        res.run(t)
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
