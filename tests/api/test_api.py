"""API tests against a real rmapd: sessions, ops and their exact results,
batches, the journal, rewind, snapshots, metrics, event streams, lessons,
and every route the OpenAPI document describes."""
import json
import sys
import threading

from rmapd_client import Daemon, Results, run_state

RMAPD = sys.argv[1]
A = "0x7f0000000000"


def new_session(d, **kw):
    body = {"name": "t"}
    body.update(kw)
    return d.json("POST", "/api/v1/sessions", body, expect=201)["id"]


def ops(d, sid, *oplist):
    return d.json("POST", "/api/v1/sessions/%d/ops" % sid, {"ops": list(oplist)})


def mmap(pid, addr=A, pages=2, prot="rw-", flags=("private", "anonymous", "fixed")):
    return {"op": "mmap", "pid": pid, "addr": addr, "len": pages * 4096,
            "prot": prot, "flags": list(flags)}


def access(pid, addr=A, write=True):
    return {"op": "access", "pid": pid, "addr": addr, "write": write}


def replay_state(ops_list, config=None):
    return run_state(RMAPD, ops_list, config)


def strip(state):
    state = dict(state)
    state.pop("id", None)
    state.pop("name", None)
    return state


def session_lifecycle(d):
    status, body, ctype, _, hdrs = d.request("POST", "/api/v1/sessions",
                                             {"name": "lesson one"})
    assert status == 201 and ctype == "application/json", (status, ctype)
    sid = body["id"]
    assert hdrs["Location"] == "/api/v1/sessions/%d" % sid
    assert body["mode"] == "normal" and body["version"] == 0
    assert any(s["id"] == sid for s in d.json("GET", "/api/v1/sessions"))
    summary = d.json("GET", "/api/v1/sessions/%d?view=summary" % sid)
    assert summary["counts"]["processes"] == 0 and "processes" not in summary
    assert d.request("DELETE", "/api/v1/sessions/%d" % sid)[0] == 204
    status, body, ctype, _, _ = d.request("GET", "/api/v1/sessions/%d" % sid)
    assert status == 404 and ctype == "application/problem+json"
    assert body["type"] == "urn:rmapd:problem:no-such-session"


def fork_then_child_write_copies_page(d):
    sid = new_session(d)
    r = ops(d, sid, {"op": "spawn"}, mmap(1), access(1), {"op": "fork", "pid": 1},
            access(2))["results"]
    assert r[0]["pid"] == 1 and r[3]["child"] == 2
    assert r[1]["addr"] == A
    assert r[2]["fault"] == "anonymous"
    assert r[4]["fault"] == "wp_page_copy"
    assert [e["fn"] for e in r[3]["events"]].count("anon_vma_fork") == 1
    st = d.json("GET", "/api/v1/sessions/%d" % sid)
    frames = {f["pfn"]: f for f in st["frames"]}
    assert sorted(frames) == [1, 2]
    assert frames[1]["mapcount"] == 1 and frames[2]["mapcount"] == 1
    assert frames[2]["mapping"] == {"kind": "anon_vma", "id": 2}
    av = {a["id"]: a for a in st["anon_vmas"]}
    assert av[1]["num_children"] == 2 and av[2]["parent"] == 1
    w = d.json("GET", "/api/v1/sessions/%d/frames/1/walk" % sid)
    assert (w["visited"], w["mapped"]) == (2, 1)
    assert w["visits"][0] == {"vma": 1, "pid": 1, "anon_vma": 1, "avc": 1,
                              "addr": A, "mapped": True, "young": False}
    assert d.json("GET", "/api/v1/sessions/%d/check" % sid)["ok"] is True
    dot = d.request("GET", "/api/v1/sessions/%d/graph.dot" % sid)
    assert dot[0] == 200 and dot[2] == "text/vnd.graphviz"
    assert dot[3].startswith(b"digraph rmapd {") and b"av2 -> av1" in dot[3]


def overcommit_memory_decides_noreserve(d):
    """A session created with overcommit_memory 2 ignores MAP_NORESERVE
    (VM_ACCOUNT, no VM_NORESERVE); the default 0 honours it."""
    flags = ("private", "anonymous", "fixed", "noreserve")
    for mode, want in ((None, ["noreserve"]), (2, ["account"])):
        sid = new_session(d, **({} if mode is None else
                                {"overcommit_memory": mode}))
        ops(d, sid, {"op": "spawn"}, mmap(1, flags=flags))
        state = d.json("GET", "/api/v1/sessions/%d" % sid)
        assert state["config"]["overcommit_memory"] == (mode or 0), state["config"]
        vma = state["processes"][0]["vmas"][0]
        assert vma["flags"] == want, vma["flags"]
        journal = d.json("GET", "/api/v1/sessions/%d/ops" % sid)
        assert "noreserve" in str(journal), journal


def kernel_refusals_are_answers(d):
    sid = new_session(d)
    r = ops(d, sid, {"op": "spawn"}, mmap(1, prot="r--"), access(1),
            {"op": "munmap", "pid": 1, "addr": "0x7f0000000001", "len": 4096})
    res = r["results"]
    assert res[2]["ok"] is False and res[2]["error"] == "SIGSEGV"
    assert res[3]["error"] == "EINVAL"
    assert r["version"] == 4


def batch_is_all_or_nothing(d):
    sid = new_session(d)
    ops(d, sid, {"op": "spawn"}, mmap(1))
    before = d.json("GET", "/api/v1/sessions/%d" % sid)
    status, body, ctype, _, _ = d.request(
        "POST", "/api/v1/sessions/%d/ops" % sid,
        {"ops": [access(1), {"op": "fork", "pid": 1}, access(7)]})
    assert status == 404 and body["index"] == 2 and body["field"] == "pid"
    assert d.json("GET", "/api/v1/sessions/%d" % sid) == before
    assert len(d.json("GET", "/api/v1/sessions/%d/ops" % sid)["ops"]) == 2


def journal_rewind_and_replay(d):
    sid = new_session(d)
    seq = [{"op": "spawn"}, mmap(1), access(1), {"op": "fork", "pid": 1},
           access(2), access(1)]
    ops(d, sid, *seq)
    j = d.json("GET", "/api/v1/sessions/%d/ops" % sid)
    assert [e["seq"] for e in j["ops"]] == [1, 2, 3, 4, 5, 6]
    assert j["ops"][4]["result"]["fault"] == "wp_page_copy"
    page = d.json("GET", "/api/v1/sessions/%d/ops?from=2&limit=2" % sid)
    assert [e["seq"] for e in page["ops"]] == [3, 4] and page["next"] == 4
    assert d.json("POST", "/api/v1/sessions/%d/rewind" % sid, {"to": 4}) == {"version": 4}
    state = d.json("GET", "/api/v1/sessions/%d" % sid)
    assert strip(state) == replay_state(seq[:4])
    assert len(d.json("GET", "/api/v1/sessions/%d/ops" % sid)["ops"]) == 4


def journal_gives_back_each_answer_as_it_was(d):
    """GET .../ops answers each op as its POST did, fields in the same
    order: all but the walk of a reclaim op, which a GET .../walk or a
    replay gives back.  The exit of a child sharing 64 written pages folds
    its per-page steps; a fault outside any VMA is an answer too."""
    sid = new_session(d)
    seq = [{"op": "spawn"}, mmap(1, pages=64)]
    seq += [access(1, "0x%x" % (0x7f0000000000 + i * 4096)) for i in range(64)]
    seq += [{"op": "fork", "pid": 1}, access(2), access(1, "0x1000"),
            {"op": "try_to_unmap", "pfn": 3}, {"op": "exit", "pid": 2},
            {"op": "munmap", "pid": 1, "addr": A, "len": 8192}]
    posted = ops(d, sid, *seq)["results"]
    journal = d.journal(sid)
    assert len(journal) == len(seq) == len(posted)
    assert any(e.get("omitted") for e in posted[70]["events"])
    assert posted[68]["error"] == "SIGSEGV" and "walk" in posted[69]
    for entry, answer in zip(journal, posted):
        answer = dict(answer)
        answer.pop("walk", None)
        assert entry["seq"] == answer["seq"] and entry["op"] == answer["op"]
        assert json.dumps(entry["result"]) == json.dumps(answer), \
            (entry["result"], answer)


def state_at_a_version_is_read_only(d):
    sid = new_session(d)
    seq = [{"op": "spawn"}, mmap(1), access(1), {"op": "fork", "pid": 1},
           access(2), access(1)]
    ops(d, sid, *seq)
    url = "/api/v1/sessions/%d" % sid
    for v in (0, 3, 4):
        past = d.json("GET", "%s?version=%d" % (url, v))
        assert past["latest"] == 6 and past["version"] == v, past
        past.pop("latest")
        assert strip(past) == replay_state(seq[:v])
    # the walk and the checker see the same past: pfn 1 after the fork is
    # shared by both processes, after pid 2's write only by pid 1
    w4 = d.json("GET", "%s/frames/1/walk?version=4" % url)
    w6 = d.json("GET", "%s/frames/1/walk" % url)
    assert (w4["visited"], w4["mapped"]) == (2, 2), w4
    assert (w6["visited"], w6["mapped"]) == (2, 1), w6
    assert d.json("GET", "%s/check?version=2" % url)["ok"] is True
    st, _, _, _, _ = d.request("GET", "%s/frames/1/walk?version=1" % url)
    assert st == 404, st
    now = d.json("GET", "%s?version=6" % url)
    assert "latest" not in now and now == d.json("GET", url)
    for bad in ("7", "-1", "x", "", "1e3"):
        st, body, ct, _, _ = d.request("GET", "%s?version=%s" % (url, bad))
        assert st == 400 and ct == "application/problem+json", (bad, st)
        assert body["type"] == "urn:rmapd:problem:invalid-query", body
        assert body["field"] == "version", body
    # nothing was rewound
    assert d.json("GET", url)["version"] == 6
    assert len(d.json("GET", "%s/ops" % url)["ops"]) == 6


def snapshots_restore_and_clone(d):
    sid = new_session(d)
    ops(d, sid, {"op": "spawn"}, mmap(1), access(1))
    snap = d.json("POST", "/api/v1/sessions/%d/snapshots" % sid,
                  {"name": "before-fork"}, expect=201)
    assert snap == {"name": "before-fork", "seq": 3}
    at3 = d.json("GET", "/api/v1/sessions/%d" % sid)
    ops(d, sid, {"op": "fork", "pid": 1}, access(2))
    assert d.json("GET", "/api/v1/sessions/%d/snapshots" % sid)["snapshots"] == [snap]
    clone = d.json("POST", "/api/v1/sessions/%d/snapshots/before-fork/clone" % sid,
                   expect=201)
    assert strip(d.json("GET", "/api/v1/sessions/%d" % clone["id"])) == strip(at3)
    assert d.json("POST", "/api/v1/sessions/%d/snapshots/before-fork/restore" % sid) == {"version": 3}
    assert d.json("GET", "/api/v1/sessions/%d" % sid) == at3


def clone_name_is_cut_to_a_session_name_length(d):
    """A clone is named "SESSION SNAPSHOT", cut to the 100 characters of a
    session name (the name it then has can be given back to a session)."""
    sid = new_session(d, name="n" * 100)
    ops(d, sid, {"op": "spawn"})
    d.json("POST", "/api/v1/sessions/%d/snapshots" % sid, {"name": "s" * 63},
           expect=201)
    clone = d.json("POST", "/api/v1/sessions/%d/snapshots/%s/clone" % (sid, "s" * 63),
                   expect=201)
    assert clone["name"] == "n" * 100, clone["name"]
    sid = new_session(d, name="short")
    d.json("POST", "/api/v1/sessions/%d/snapshots" % sid, {"name": "s" * 63},
           expect=201)
    clone = d.json("POST", "/api/v1/sessions/%d/snapshots/%s/clone" % (sid, "s" * 63),
                   expect=201)
    assert clone["name"] == "short " + "s" * 63, clone["name"]
    assert new_session(d, name=clone["name"])


def delete_keeps_the_session_list_in_id_order(d):
    made = [new_session(d, name="order%d" % i) for i in range(5)]
    d.json("DELETE", "/api/v1/sessions/%d" % made[1], expect=204)
    ids = [s["id"] for s in d.json("GET", "/api/v1/sessions")]
    assert ids == sorted(ids), ids
    assert made[1] not in ids and set(made) - {made[1]} <= set(ids)


def rewind_and_restore_delete_the_snapshots_after_their_target(d):
    sid = new_session(d)
    snaps = "/api/v1/sessions/%d/snapshots" % sid
    ops(d, sid, {"op": "spawn"})
    d.json("POST", snaps, {"name": "at1"}, expect=201)
    ops(d, sid, {"op": "spawn"})
    d.json("POST", snaps, {"name": "at2"}, expect=201)
    ops(d, sid, {"op": "spawn"})
    d.json("POST", snaps, {"name": "at3"}, expect=201)
    d.json("POST", "/api/v1/sessions/%d/rewind" % sid, {"to": 2})
    assert [x["name"] for x in d.json("GET", snaps)["snapshots"]] == ["at1", "at2"]
    d.json("POST", snaps + "/at1/restore")
    assert [x["name"] for x in d.json("GET", snaps)["snapshots"]] == ["at1"]


def lessons_are_listed_and_applied(d):
    lessons = d.json("GET", "/api/v1/scenarios")
    names = [l["name"] for l in lessons]
    for n in ("fork-cow", "zero-page", "fork-chain", "anon-vma-reuse",
              "split-merge", "mremap", "file-sharing", "legacy-reuse-bug"):
        assert n in names, n
    full = d.json("GET", "/api/v1/scenarios/fork-cow")
    nops = sum(1 for s in full["steps"] if "op" in s)
    s = d.json("POST", "/api/v1/sessions", {"scenario": "fork-cow"}, expect=201)
    assert s["version"] == nops and s["name"] == "fork-cow"
    st = d.json("GET", "/api/v1/sessions/%d" % s["id"])
    assert [p["pid"] for p in st["processes"]] == [1]
    leg = d.json("POST", "/api/v1/sessions", {"scenario": "legacy-reuse-bug"}, expect=201)
    assert leg["mode"] == "legacy"
    chk = d.json("GET", "/api/v1/sessions/%d/check" % leg["id"])
    assert not chk["ok"] and chk["violations"][0]["what"] == "dangling-mapping"


def metrics_count_requests_and_ops(d):
    sid = new_session(d)
    ops(d, sid, {"op": "spawn"})
    status, _, ctype, text, _ = d.request("GET", "/metrics")
    text = text.decode()
    assert status == 200 and ctype.startswith("text/plain")
    assert 'rmapd_http_requests_total{route="/api/v1/sessions/{id}/ops",method="POST",status="200"}' in text
    assert "rmapd_http_request_duration_seconds_bucket{le=\"+Inf\"}" in text
    ops_line = [l for l in text.splitlines() if l.startswith("rmapd_ops_applied_total")][0]
    assert int(ops_line.split()[1]) >= 1
    assert "rmapd_sessions " in text


def event_stream_reports_new_version(d):
    sid = new_session(d)
    got = {}

    def listen():
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=20)
        c.request("GET", "/api/v1/sessions/%d/events" % sid)
        r = c.getresponse()
        got["ctype"] = r.getheader("Content-Type")
        got["body"] = r.read().decode()
    t = threading.Thread(target=listen)
    t.start()
    import time
    time.sleep(0.3)
    ops(d, sid, {"op": "spawn"})
    t.join(25)
    assert got["ctype"] == "text/event-stream"
    assert "event: version\ndata: {\"version\":1}" in got["body"], got


def static_files_stay_inside_the_web_root(d):
    for path in ("/../etc/passwd", "/%2e%2e/etc/passwd", "/nonexistent.js"):
        status, body, ctype, _, _ = d.request("GET", path)
        assert status == 404 and ctype == "application/problem+json", path


JSON_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool,
              "null": type(None)}


def resolve(doc, node):
    """Follow a local $ref ("#/components/...") to what it names."""
    while "$ref" in node:
        ref, node = node["$ref"], doc
        for part in ref[2:].split("/"):
            node = node[part]
    return node


def is_type(value, t):
    if t in ("integer", "number"):
        return (isinstance(value, int if t == "integer" else (int, float))
                and not isinstance(value, bool))
    return isinstance(value, JSON_TYPES[t])


def conforms(doc, schema, value, where):
    """value has the types and the required properties the schema gives,
    all the way down."""
    schema = resolve(doc, schema)
    types = schema.get("type")
    if types is not None:
        types = types if isinstance(types, list) else [types]
        assert any(is_type(value, t) for t in types), (where, types, value)
    if isinstance(value, dict):
        for key in schema.get("required", []):
            assert key in value, (where, "missing", key)
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                conforms(doc, sub, value[key], where + "." + key)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            conforms(doc, schema["items"], item, "%s[%d]" % (where, i))


# what the routes of people answer with --auth off
PEOPLE_ONLY = {
    ("/api/v1/login", "post"): "auth-off",
    ("/api/v1/join", "post"): "auth-off",
    ("/api/v1/classes/{class}/codes", "post"): "no-such-class",
    ("/api/v1/classes/{class}/codes/{code}", "delete"): "no-such-code",
    ("/api/v1/classes/{class}/live", "get"): "no-such-class",
    ("/api/v1/classes/{class}/live", "post"): "no-such-class",
    ("/api/v1/classes/{class}/live", "delete"): "no-such-class",
    ("/api/v1/classes/{class}/members", "get"): "no-such-class",
}


def openapi_routes_answer_as_documented(d):
    status, doc, ctype, _, _ = d.request("GET", "/api/v1/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.1")
    sid = new_session(d)
    ops(d, sid, {"op": "spawn"}, mmap(1), access(1))
    d.json("POST", "/api/v1/sessions/%d/snapshots" % sid, {"name": "s1"}, expect=201)

    def spare_session():
        s = new_session(d)
        ops(d, s, {"op": "spawn"})
        return s
    bodies = {
        ("/api/v1/sessions", "post"): {"name": "doc"},
        ("/api/v1/sessions/{id}/ops", "post"): {"op": "spawn"},
        ("/api/v1/sessions/{id}/rewind", "post"): {"to": 0},
        ("/api/v1/sessions/{id}/snapshots", "post"): {"name": "s2"},
        ("/api/v1/sessions/{id}/visibility", "post"): {"visibility": "private"},
    }
    # requests that would undo what the later ones need go to a spare session
    spare = {("/api/v1/sessions/{id}", "delete"),
             ("/api/v1/sessions/{id}/rewind", "post")}

    def url_of(path, target):
        url = (path.replace("{id}", str(target)).replace("{pfn}", "1")
               .replace("{name}", "fork-cow" if "scenarios" in path else "s1")
               .replace("{share}", "1").replace("{class}", "os101")
               .replace("{code}", "1"))
        if path.endswith("/events"):
            url += "?since=0"   # behind the session: answers at once
        return url
    checked = 0
    for path, methods in doc["paths"].items():
        for method, spec in methods.items():
            where = "%s %s" % (method.upper(), path)
            target = spare_session() if (path, method) in spare else sid
            if path.endswith("/restore"):
                ops(d, sid, {"op": "spawn"})
            st, body, ct, payload, _ = d.request(
                method.upper(), url_of(path, target), bodies.get((path, method)))
            if (path, method) in PEOPLE_ONLY:
                # --auth off has no users or classes; test_auth.py has them
                want = PEOPLE_ONLY[(path, method)]
                assert st == 404 and body["type"].endswith(":" + want), (
                    where, st, payload[:200])
                checked += 1
                continue
            success = [c for c in spec["responses"] if c.startswith("2")]
            assert len(success) == 1, (where, success)
            assert st == int(success[0]), (where, st, payload[:200])
            content = resolve(doc, spec["responses"][success[0]]).get("content", {})
            kinds = [k for k in content if ct.startswith(k)]
            assert kinds or (not content and not payload), (where, ct)
            if kinds and kinds[0] == "application/json":
                conforms(doc, content[kinds[0]]["schema"], body, where)
            assert "405" in spec["responses"], where
            checked += 1
        wrong = next(m for m in ("PUT", "PATCH", "DELETE", "POST")
                     if m.lower() not in methods)
        st, body, ct, _, hdrs = d.request(wrong, url_of(path, sid))
        assert st == 405 and ct == "application/problem+json", (wrong, path, st)
        assert body["type"] == "urn:rmapd:problem:method-not-allowed", body
        assert sorted(hdrs["Allow"].split(", ")) == sorted(m.upper() for m in methods)
    assert checked == sum(len(m) for m in doc["paths"].values()) >= 20
    # every documented problem answers as problem+json
    st, _, ct, _, _ = d.request("GET", "/api/v1/sessions/999999/check")
    assert st == 404 and ct == "application/problem+json"


if __name__ == "__main__":
    d = Daemon(RMAPD).start()
    res = Results()
    try:
        for t in (session_lifecycle, fork_then_child_write_copies_page,
                  overcommit_memory_decides_noreserve,
                  kernel_refusals_are_answers, batch_is_all_or_nothing,
                  journal_rewind_and_replay,
                  journal_gives_back_each_answer_as_it_was,
                  state_at_a_version_is_read_only,
                  snapshots_restore_and_clone,
                  clone_name_is_cut_to_a_session_name_length,
                  delete_keeps_the_session_list_in_id_order,
                  rewind_and_restore_delete_the_snapshots_after_their_target,
                  lessons_are_listed_and_applied, metrics_count_requests_and_ops,
                  event_stream_reports_new_version,
                  static_files_stay_inside_the_web_root,
                  openapi_routes_answer_as_documented):
            res.run(t, d)
    finally:
        d.cleanup()
    sys.exit(res.summary())
