"""At least 50 malformed or refused requests: each gets a 4xx problem
document with a useful detail, the daemon keeps answering, and no session's
state or journal changes."""
import os
import subprocess
import sys
import tempfile

from rmapd_client import Daemon, Results

RMAPD = sys.argv[1]
A = "0x7f0000000000"


def bad_requests(sid):
    s = "/api/v1/sessions/%d" % sid
    o = s + "/ops"
    mm = {"op": "mmap", "pid": 1, "addr": A, "len": 4096, "prot": "rw-",
          "flags": ["private", "anonymous", "fixed"]}

    def op(**kw):
        d = dict(mm)
        d.update(kw)
        return d
    return [
        ("POST", o, None, b"{", 400, "malformed-json"),
        ("POST", o, None, b"", 400, "empty-body"),
        ("POST", o, None, b"[1,2", 400, "malformed-json"),
        ("POST", o, None, b"\xff\xfe", 400, "malformed-json"),
        ("POST", o, None, b'{"op":"spawn"} trailing garbage', 400, "malformed-json"),
        ("POST", o, None, b'{"op":"spawn"}{"op":"spawn"}', 400, "malformed-json"),
        ("POST", o, None, b'{"ops":[{"op":"spawn"}]}]', 400, "malformed-json"),
        ("POST", s + "/rewind", None, b'{"to":1} 2', 400, "malformed-json"),
        ("POST", s + "/snapshots", None, b'{"name":"x"', 400, "malformed-json"),
        ("POST", o, {"op": "frobnicate"}, None, 422, "unknown-op"),
        ("POST", o, {"op": 7}, None, 422, "missing-field"),
        ("POST", o, {"pid": 1}, None, 422, "missing-field"),
        ("POST", o, [], None, 422, "missing-field"),
        ("POST", o, {"ops": {}}, None, 422, "invalid-type"),
        ("POST", o, {"ops": [{"op": "spawn"}, {"op": "nope"}]}, None, 422, "unknown-op"),
        ("POST", o, {"op": "spawn", "colour": "red"}, None, 422, "unknown-field"),
        ("POST", o, {"op": "spawn", "layout": "weird"}, None, 422, "invalid-value"),
        ("POST", o, {"op": "fork"}, None, 422, "missing-field"),
        ("POST", o, {"op": "fork", "pid": "one"}, None, 422, "invalid-value"),
        ("POST", o, {"op": "fork", "pid": -1}, None, 422, "invalid-value"),
        ("POST", o, {"op": "fork", "pid": 1.5}, None, 422, "invalid-value"),
        ("POST", o, {"op": "fork", "pid": 42}, None, 404, "no-such-pid"),
        ("POST", o, {"op": "exit", "pid": 42}, None, 404, "no-such-pid"),
        ("POST", o, op(addr="0x800000000000"), None, 422, "invalid-address"),
        ("POST", o, op(addr="0xffffffffffffffffff"), None, 422, "invalid-address"),
        ("POST", o, op(addr="-4096"), None, 422, "invalid-address"),
        ("POST", o, op(addr="0xzz"), None, 422, "invalid-address"),
        ("POST", o, op(addr=[1]), None, 422, "invalid-address"),
        ("POST", o, op(addr="139637976727552"), None, 422, "invalid-address"),
        ("POST", o, op(addr="0"), None, 422, "invalid-address"),
        ("POST", o, op(addr="0x"), None, 422, "invalid-address"),
        ("POST", o, op(addr="0x-7f0000000000"), None, 422, "invalid-address"),
        ("POST", o, op(addr="0x 7f0000000000"), None, 422, "invalid-address"),
        ("POST", o, op(addr="0X7F0000000000"), None, 422, "invalid-address"),
        ("POST", o, op(addr="0x10000000000000000"), None, 422, "invalid-address"),
        ("POST", o, op(addr=2 ** 64), None, 422, "invalid-address"),
        ("POST", o, op(addr=2 ** 64 - 1), None, 422, "invalid-address"),
        ("POST", o, op(addr=-4096), None, 422, "invalid-address"),
        ("POST", o, op(addr=139637976727552.5), None, 422, "invalid-address"),
        ("POST", o, op(addr=1e300), None, 422, "invalid-address"),
        ("POST", o, {"op": "mremap", "pid": 1, "addr": A, "old_len": 4096,
                     "new_len": 4096, "flags": ["maymove", "fixed"],
                     "new_addr": "139637976793088"}, None, 422, "invalid-address"),
        ("POST", o, {"op": "brk", "pid": 1, "addr": "4096"}, None, 422, "invalid-address"),
        ("POST", o, op(len="4096"), None, 422, "invalid-value"),
        ("POST", o, op(len="lots"), None, 422, "invalid-value"),
        ("POST", o, op(len=2 ** 50), None, 422, "invalid-value"),
        ("POST", o, op(prot="rwz"), None, 422, "invalid-value"),
        ("POST", o, op(prot=3), None, 422, "invalid-value"),
        ("POST", o, op(flags="private"), None, 422, "invalid-value"),
        ("POST", o, op(flags=["private", "huge"]), None, 422, "invalid-value"),
        ("POST", o, op(flags=["private"]), None, 422, "missing-field"),
        ("POST", o, op(file="libc.so"), None, 422, "invalid-value"),
        ("POST", o, op(flags=["shared", "fixed"], file="nofile"), None, 404, "no-such-file"),
        ("POST", o, {"op": "access", "pid": 1, "addr": A, "write": "yes"}, None, 422, "invalid-type"),
        ("POST", o, {"op": "madvise", "pid": 1, "addr": A, "len": 4096, "advice": "forget"}, None, 422, "invalid-value"),
        ("POST", o, {"op": "mremap", "pid": 1, "addr": A, "old_len": 4096, "new_len": 4096, "flags": ["teleport"]}, None, 422, "invalid-value"),
        ("POST", o, {"op": "try_to_unmap", "pfn": 99999}, None, 404, "no-such-frame"),
        ("POST", o, {"op": "folio_referenced", "pfn": "x"}, None, 422, "invalid-value"),
        ("POST", o, {"op": "file", "name": "../etc", "pages": 2}, None, 422, "invalid-op"),
        ("POST", o, {"op": "file", "name": "big", "pages": 999999}, None, 422, "limit-exceeded"),
        ("POST", o, {"op": "file", "name": "f0", "pages": 1}, None, 409, "file-exists"),
        ("POST", o, {"ops": [{"op": "spawn"}] * 1001}, None, 413, "batch-too-large"),
        ("POST", o, None, b"{\"op\":\"spawn\",\"pad\":\"" + b"x" * (1 << 20) + b"\"}", 413, "body-too-large"),
        ("PUT", o, {"op": "spawn"}, None, 405, "method-not-allowed"),
        ("DELETE", o, None, None, 405, "method-not-allowed"),
        ("PATCH", s, None, None, 405, "method-not-allowed"),
        ("POST", "/api/v1/sessions/99999/ops", {"op": "spawn"}, None, 404, "no-such-session"),
        # an op POST's body is parsed before the session is looked up (and
        # locked), yet its refusal comes after the session's and the query's
        ("POST", "/api/v1/sessions/99999/ops", None, b"{not json", 404, "no-such-session"),
        ("POST", "/api/v1/sessions/99999/ops", None, b"", 404, "no-such-session"),
        ("POST", o + "?events=sometimes", None, b"{not json", 400, "invalid-query"),
        ("POST", o, None, b"{not json", 400, "malformed-json"),
        ("POST", o, None, b"", 400, "empty-body"),
        ("POST", o, None, b'{"op": "spawn"} {}', 400, "malformed-json"),
        ("GET", "/api/v1/sessions/abc", None, None, 404, "no-such-session"),
        ("GET", "/api/v1/sessions/-1", None, None, 404, "no-such-session"),
        ("GET", s + "/frames/99999/walk", None, None, 404, "no-such-frame"),
        ("GET", s + "/frames/abc/walk", None, None, 404, "no-such-frame"),
        ("GET", s + "/ops?limit=0", None, None, 400, "invalid-query"),
        ("GET", s + "/ops?from=-3", None, None, 400, "invalid-query"),
        ("GET", s + "/nothing", None, None, 404, "not-found"),
        ("POST", s + "/rewind", {"to": 999}, None, 422, "invalid-value"),
        ("POST", s + "/rewind", {"to": "2"}, None, 422, "invalid-type"),
        ("POST", s + "/rewind", {"to": 1, "also": 2}, None, 422, "unknown-field"),
        ("POST", s + "/rewind", {"to": 1e300}, None, 422, "invalid-value"),
        ("POST", s + "/rewind", {"to": -1e300}, None, 422, "invalid-value"),
        ("POST", s + "/rewind", {"to": 1.5}, None, 422, "invalid-value"),
        ("POST", s + "/rewind", {"to": -1}, None, 422, "invalid-value"),
        ("POST", s + "/rewind", None, b'{"to": 1e999}', 422, "invalid-value"),
        ("POST", o, {"op": "spawn", "ops": []}, None, 422, "unknown-field"),
        ("POST", o, {"ops": [{"op": "spawn"}], "atomic": False}, None, 422, "unknown-field"),
        ("POST", "/api/v1/sessions", {"name": "a\u0000b"}, None, 422, "invalid-value"),
        ("POST", "/api/v1/sessions", {"name": "a\nb"}, None, 422, "invalid-value"),
        ("POST", "/api/v1/sessions", {"name": "a\u007fb"}, None, 422, "invalid-value"),
        ("POST", s + "/snapshots", {"name": "x\u0000y"}, None, 422, "invalid-value"),
        ("POST", s + "/snapshots", {"name": "x\ty"}, None, 422, "invalid-value"),
        ("POST", o, {"op": "file", "name": "g\u0000h", "pages": 1}, None, 422, "invalid-value"),
        ("GET", s + "/frames/" + "1" * 600 + "/walk", None, None, 414, "uri-too-long"),
        ("POST", s + "/snapshots/taken/restore", None, b"{" + b" " * (1 << 20) + b"}", 413, "body-too-large"),
        ("GET", "/healthz", None, b" " * ((1 << 20) + 1), 413, "body-too-large"),
        ("POST", s + "/snapshots", {"name": "../x"}, None, 422, "invalid-value"),
        ("POST", s + "/snapshots", {"name": "taken"}, None, 409, "snapshot-exists"),
        ("POST", s + "/snapshots/none/restore", None, None, 404, "no-such-snapshot"),
        ("POST", s + "/snapshots/none/clone", None, None, 404, "no-such-snapshot"),
        ("POST", "/api/v1/sessions", {"mode": "chaos"}, None, 422, "invalid-value"),
        ("POST", "/api/v1/sessions", {"scenario": "no-such-lesson"}, None, 422, "no-such-scenario"),
        ("POST", "/api/v1/sessions", {"name": "x" * 200}, None, 422, "invalid-value"),
        ("POST", "/api/v1/sessions", {"zero_page": "no"}, None, 422, "invalid-type"),
        ("POST", "/api/v1/sessions", {"overcommit_memory": 3}, None, 422, "invalid-value"),
        ("GET", "/api/v1/scenarios/nope", None, None, 404, "no-such-scenario"),
        ("GET", "/api/v2/sessions", None, None, 404, "not-found"),
    ]


def every_route_documents_413_and_414():
    """Any request can bring a body past --max-body (413) or a path past
    511 bytes (414): every operation of the OpenAPI document lists both."""
    d = Daemon(RMAPD).start()
    try:
        doc = d.json("GET", "/api/v1/openapi.json")
        missing = ["%s %s" % (m.upper(), p) for p, ms in doc["paths"].items()
                   for m, op in ms.items()
                   if not {"413", "414"} <= set(op["responses"])]
        assert not missing, missing
    finally:
        d.cleanup()


def no_sanitizer_report(d):
    """Nothing above was undefined behaviour (an out-of-range double cast
    to long, say): the sanitized build reports it in the log."""
    with open(os.path.join(d.tmp, "rmapd.log"), errors="replace") as f:
        text = f.read()
    assert "runtime error" not in text and "AddressSanitizer" not in text, \
        text[-1500:]


def documented_statuses(doc, method, path):
    """The statuses the OpenAPI document gives for the route of a request
    (None when no documented route matches)."""
    segs = path.split("?")[0].strip("/").split("/")
    for template, methods in doc["paths"].items():
        t = template.strip("/").split("/")
        if len(t) == len(segs) and all(a.startswith("{") or a == b
                                       for a, b in zip(t, segs)):
            if method.lower() in methods:
                return set(methods[method.lower()]["responses"])
            # another method: what every operation of the path documents
            return set.intersection(*(set(m["responses"])
                                      for m in methods.values()))
    return None


def session_limits_refuse_and_change_nothing():
    d = Daemon(RMAPD, args=["--max-procs", "2", "--max-vmas", "2",
                            "--max-frames", "2", "--max-sessions", "2"]).start()
    try:
        sid = d.json("POST", "/api/v1/sessions", {}, expect=201)["id"]
        o = "/api/v1/sessions/%d/ops" % sid
        d.json("POST", o, {"ops": [
            {"op": "spawn"}, {"op": "mmap", "pid": 1, "addr": "0x7f0000000000",
                              "len": 12288, "prot": "rw-",
                              "flags": ["private", "anonymous", "fixed"]}]})
        before = d.json("GET", "/api/v1/sessions/%d" % sid)
        cases = [
            ({"ops": [{"op": "spawn"}, {"op": "spawn"}]}, "process limit"),
            ({"ops": [{"op": "mmap", "pid": 1, "addr": "0x7f000%d100000" % i,
                       "len": 4096, "prot": "r--",
                       "flags": ["private", "anonymous", "fixed"]}
                      for i in range(2)]}, "VMA limit"),
            ({"ops": [{"op": "access", "pid": 1, "addr": "0x7f000000%d000" % i,
                       "write": True} for i in range(3)]}, "frame limit"),
        ]
        for body, word in cases:
            st, b, ct, _, _ = d.request("POST", o, body)
            assert st == 422 and b["type"].endswith("limit-exceeded"), (st, b)
            assert word in b["detail"], b["detail"]
        assert d.json("GET", "/api/v1/sessions/%d" % sid) == before
        sessions = d.json("GET", "/api/v1/sessions")
        st, b, _, _, _ = d.request("POST", "/api/v1/sessions",
                                   {"scenario": "fork-chain"})
        assert st == 422 and b["type"].endswith("limit-exceeded"), (st, b)
        assert d.json("GET", "/api/v1/sessions") == sessions
        d.json("POST", "/api/v1/sessions", {}, expect=201)
        st, b, _, _, _ = d.request("POST", "/api/v1/sessions", {})
        assert st == 429 and b["type"].endswith("too-many-sessions"), b
    finally:
        d.cleanup()


def limits_count_what_an_op_really_needs():
    """At a limit, what frees or does not grow still works: an anonymous
    write needs one frame, a whole-VMA munmap no new VMA; fork is refused
    when the PTEs it copies would pass --max-ptes."""
    d = Daemon(RMAPD, args=["--max-vmas", "2", "--max-frames", "2",
                            "--max-ptes", "3"]).start()
    try:
        sid = d.json("POST", "/api/v1/sessions", {}, expect=201)["id"]
        o = "/api/v1/sessions/%d/ops" % sid
        r = d.json("POST", o, {"ops": [
            {"op": "spawn"},
            {"op": "mmap", "pid": 1, "addr": "0x7f0000000000", "len": 8192,
             "prot": "rw-", "flags": ["private", "anonymous", "fixed"]},
            {"op": "mmap", "pid": 1, "addr": "0x7f0000100000", "len": 4096,
             "prot": "r--", "flags": ["private", "anonymous", "fixed"]},
            {"op": "access", "pid": 1, "addr": "0x7f0000000000", "write": True},
            {"op": "access", "pid": 1, "addr": "0x7f0000001000", "write": True}]})
        assert all(x["ok"] for x in r["results"]), r
        # two frames, two PTEs: fork would copy two more PTEs (4 > 3)
        st, b, _, _, _ = d.request("POST", o, {"op": "fork", "pid": 1})
        assert st == 422 and "page-table entry limit (3)" in b["detail"], (st, b)
        # at the VMA limit, a hole inside a VMA is refused, a whole VMA goes
        st, b, _, _, _ = d.request("POST", o, {"op": "mprotect", "pid": 1,
                                              "addr": "0x7f0000001000",
                                              "len": 4096, "prot": "r--"})
        assert st == 422 and "VMA limit" in b["detail"], (st, b)
        r = d.json("POST", o, {"op": "munmap", "pid": 1,
                               "addr": "0x7f0000100000", "len": 4096})
        assert r["results"][0]["ok"], r
        state = d.json("GET", "/api/v1/sessions/%d" % sid)
        assert [v["start"] for v in state["processes"][0]["vmas"]] == \
            ["0x7f0000000000"], state["processes"][0]["vmas"]
        assert state["config"]["limits"]["ptes"] == 3, state["config"]
    finally:
        d.cleanup()


def refused_scenario_creates_no_session():
    d = Daemon(RMAPD, args=["--max-batch", "5"]).start()
    try:
        d.json("POST", "/api/v1/sessions", {"name": "bystander"}, expect=201)
        sessions = d.json("GET", "/api/v1/sessions")
        st, b, ct, _, _ = d.request("POST", "/api/v1/sessions",
                                    {"scenario": "fork-chain"})
        assert st == 413 and ct == "application/problem+json", (st, b)
        assert b["type"].endswith("batch-too-large"), b
        assert d.json("GET", "/api/v1/sessions") == sessions
        # a lesson within the limits is still applied whole
        s = d.json("POST", "/api/v1/sessions", {"scenario": "zero-page"},
                   expect=201)
        assert s["version"] == 5
    finally:
        d.cleanup()


def whitespace_after_the_body_is_accepted():
    d = Daemon(RMAPD).start()
    try:
        sid = d.json("POST", "/api/v1/sessions", {}, expect=201)["id"]
        st, b, _, _, _ = d.request("POST", "/api/v1/sessions/%d/ops" % sid,
                                   raw=b' {"op":"spawn"} \r\n\t ')
        assert st == 200 and b["version"] == 1, (st, b)
    finally:
        d.cleanup()


def run_file_with_trailing_data_is_refused():
    def run(text):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write(text)
        try:
            return subprocess.run([RMAPD, "run", f.name], capture_output=True)
        finally:
            os.unlink(f.name)
    for text in ('{"ops":[{"op":"spawn"}]} trailing garbage',
                 '{"ops":[{"op":"spawn"}]}{"ops":[]}'):
        out = run(text)
        assert out.returncode == 2 and b"not valid JSON" in out.stderr, out
        assert out.stdout == b"", out.stdout
    out = run('{"ops":[{"op":"spawn"}]}\n\n')
    assert out.returncode == 0, out.stderr


def main():
    d = Daemon(RMAPD, args=["--max-file-pages", "4096"]).start()
    res = Results()
    try:
        sid = d.json("POST", "/api/v1/sessions", {"name": "target"}, expect=201)["id"]
        d.json("POST", "/api/v1/sessions/%d/ops" % sid, {"ops": [
            {"op": "spawn"}, {"op": "file", "name": "f0", "pages": 2},
            {"op": "mmap", "pid": 1, "addr": "0x7f0000000000", "len": 8192,
             "prot": "rw-", "flags": ["private", "anonymous", "fixed"]}]})
        # one op before the version, so that replacing it would show
        d.json("POST", "/api/v1/sessions/%d/snapshots" % sid, {"name": "taken"},
               expect=201)
        d.json("POST", "/api/v1/sessions/%d/ops" % sid,
               {"op": "access", "pid": 1, "addr": "0x7f0000000000", "write": True})
        before = d.json("GET", "/api/v1/sessions/%d" % sid)
        journal = d.json("GET", "/api/v1/sessions/%d/ops" % sid)
        snapshots = d.json("GET", "/api/v1/sessions/%d/snapshots" % sid)
        sessions = d.json("GET", "/api/v1/sessions")
        doc = d.json("GET", "/api/v1/openapi.json")
        reqs = bad_requests(sid)
        assert len(reqs) >= 50
        for method, path, body, raw, status, ptype in reqs:
            def one(method=method, path=path, body=body, raw=raw, status=status,
                    ptype=ptype):
                st, b, ct, payload, _ = d.request(method, path, body=body, raw=raw)
                assert st == status, (st, payload[:200])
                assert ct == "application/problem+json", ct
                assert b["type"] == "urn:rmapd:problem:" + ptype, b
                assert b["status"] == status and len(b["detail"]) > 10, b
                if status == 422 and b.get("field"):
                    assert b["field"] in b["detail"], b
                codes = documented_statuses(doc, method, path)
                assert codes is None or str(status) in codes, codes
            one.__name__ = "%s %s -> %d %s" % (method, path[:50], status, ptype)
            res.run(one)

        def nothing_changed():
            assert d.json("GET", "/healthz")["status"] == "ok"
            assert d.json("GET", "/api/v1/sessions/%d" % sid) == before
            assert d.json("GET", "/api/v1/sessions/%d/ops" % sid) == journal
            assert d.json("GET", "/api/v1/sessions/%d/snapshots" % sid) == snapshots
            assert d.json("GET", "/api/v1/sessions") == sessions
        res.run(nothing_changed)
        d.stop()

        def no_undefined_behaviour():
            no_sanitizer_report(d)
        res.run(no_undefined_behaviour)
        print("%d bad requests sent" % len(reqs))
    finally:
        d.cleanup()
    res.run(session_limits_refuse_and_change_nothing)
    res.run(limits_count_what_an_op_really_needs)
    res.run(refused_scenario_creates_no_session)
    res.run(whitespace_after_the_body_is_accepted)
    res.run(run_file_with_trailing_data_is_refused)
    res.run(every_route_documents_413_and_414)
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
