"""Hostile pages and clients (issue 8, points 1, 2, 7, 9): a request from
another site, with a non-JSON body or for a host rmapd does not serve
changes nothing; ids have one spelling; JSON whitespace is JSON's; error
documents are valid UTF-8; every answer carries the security headers."""
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from rmapd_client import Daemon, Results, free_port, recv_all

RMAPD = sys.argv[1]
A = "0x7f0000000000"
SETUP = [{"op": "spawn"},
         {"op": "mmap", "pid": 1, "addr": A, "len": 8192, "prot": "rw-",
          "flags": ["private", "anonymous", "fixed"]},
         {"op": "access", "pid": 1, "addr": A, "write": True}]


def answer_and_close(d, data):
    """The raw answer to data, read until rmapd closes the connection."""
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    s.sendall(data)
    return recv_all(s)


def split_answer(out):
    """(status, headers lowercased, body) of a raw answer."""
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), hdrs, body


def raw(d, data):
    """Send bytes as they are; (status, headers lowercased, body)."""
    return split_answer(answer_and_close(d, data))


def problem(status, ctype, payload, want_status, want_type):
    assert status == want_status, (status, payload[:300])
    assert ctype == "application/problem+json", ctype
    doc = json.loads(payload.decode("utf-8"))   # strict: valid UTF-8
    assert doc["type"] == "urn:rmapd:problem:" + want_type, doc
    assert doc["status"] == want_status, doc
    return doc


def with_session(d):
    sid = d.json("POST", "/api/v1/sessions", {"name": "h"}, expect=201)["id"]
    d.json("POST", "/api/v1/sessions/%d/ops" % sid, {"ops": SETUP})
    return sid


def journal_intact(d, sid, n=3):
    ops = [e["op"] for e in d.journal(sid)]
    assert len(ops) == n, ops
    st = d.json("GET", "/api/v1/sessions/%d" % sid)
    assert st["version"] == n and len(st["frames"]) == 1, st["version"]


# ---- 1. only rmapd's own origin, or a non-browser client, changes state ----

def no_cors_text_plain_rewind_is_refused_415():
    """The attack of the issue: fetch(..., {mode:"no-cors"}) can send
    text/plain; the body is JSON but says otherwise."""
    d = Daemon(RMAPD).start()
    try:
        sid = with_session(d)
        for ctype in ("text/plain", "text/plain;charset=UTF-8",
                      "application/x-www-form-urlencoded",
                      "multipart/form-data; boundary=x", "application/jsonx",
                      "application/problem+json",
                      "application/json; charset=latin1",
                      "application/json; charset=utf-8x"):
            st, _, ct, payload, _ = d.request(
                "POST", "/api/v1/sessions/%d/rewind" % sid, raw=b'{"to":0}',
                headers={"Content-Type": ctype})
            problem(st, ct, payload, 415, "unsupported-media-type")
        journal_intact(d, sid)
    finally:
        d.cleanup()


def body_without_content_type_is_refused_415():
    d = Daemon(RMAPD).start()
    try:
        sid = with_session(d)
        body = b'{"to":0}'
        st, h, b = raw(d, b"POST /api/v1/sessions/%d/rewind HTTP/1.1\r\n"
                       b"Host: 127.0.0.1:%d\r\nContent-Length: %d\r\n"
                       b"Connection: close\r\n\r\n%s"
                       % (sid, d.port, len(body), body))
        problem(st, h["content-type"], b, 415, "unsupported-media-type")
        journal_intact(d, sid)
    finally:
        d.cleanup()


def json_content_type_with_parameters_is_accepted():
    d = Daemon(RMAPD).start()
    try:
        sid = with_session(d)
        for ctype in ("application/json; charset=utf-8",
                      "Application/JSON;charset=\"UTF-8\""):
            st, b, _, payload, _ = d.request(
                "POST", "/api/v1/sessions/%d/ops" % sid, raw=b'{"op":"spawn"}',
                headers={"Content-Type": ctype})
            assert st == 200, (ctype, payload)
        assert b["version"] == 5, b
    finally:
        d.cleanup()


def bodiless_post_needs_no_content_type():
    """restore and clone take no body: curl -X POST works as it is, but a
    declared non-JSON type is still refused."""
    d = Daemon(RMAPD).start()
    try:
        sid = with_session(d)
        d.json("POST", "/api/v1/sessions/%d/snapshots" % sid, {"name": "s"},
               expect=201)
        path = "/api/v1/sessions/%d/snapshots/s/clone" % sid
        st, b, _, payload, _ = d.request("POST", path)
        assert st == 201, (st, payload)
        st, _, ct, payload, _ = d.request("POST", path, headers={
            "Content-Type": "text/plain", "Content-Length": "0"})
        problem(st, ct, payload, 415, "unsupported-media-type")
    finally:
        d.cleanup()


def cross_site_browser_requests_are_refused_403():
    d = Daemon(RMAPD).start()
    try:
        sid = with_session(d)
        s = "/api/v1/sessions/%d" % sid
        cases = [
            ("POST", s + "/rewind", {"Origin": "http://evil.example"}),
            ("POST", s + "/rewind", {"Origin": "null"}),
            ("POST", s + "/rewind", {"Origin": "http://127.0.0.1:%d.evil" % d.port}),
            ("POST", s + "/rewind", {"Origin": "http://127.0.0.1:%d" % (d.port + 1)}),
            ("POST", s + "/rewind", {"Sec-Fetch-Site": "cross-site"}),
            ("POST", s + "/rewind", {"Sec-Fetch-Site": "same-site"}),
            ("POST", s + "/ops", {"Origin": "http://localhost:%d" % d.port}),
            ("DELETE", s, {"Origin": "https://evil.example"}),
            ("DELETE", s, {"Sec-Fetch-Site": "cross-site",
                           "Origin": "http://127.0.0.1:%d" % d.port}),
            ("POST", "/api/v1/sessions", {"Origin": "http://evil.example"}),
        ]
        for method, path, hdrs in cases:
            body = b'{"to":0}' if path.endswith("rewind") else (
                b'{"op":"exit","pid":1}' if path.endswith("ops") else
                (b'{}' if method == "POST" else None))
            st, _, ct, payload, h = d.request(method, path, raw=body,
                                              headers=hdrs)
            problem(st, ct, payload, 403, "cross-origin")
            assert not any(k.lower().startswith("access-control") for k in h), h
        journal_intact(d, sid)
        assert len(d.json("GET", "/api/v1/sessions")) == 1
    finally:
        d.cleanup()


def own_origin_and_plain_clients_may_change_state():
    d = Daemon(RMAPD).start()
    try:
        sid = with_session(d)
        s = "/api/v1/sessions/%d" % sid
        own = "http://127.0.0.1:%d" % d.port
        st, b, _, p, _ = d.request("POST", s + "/ops", {"op": "spawn"},
                                   headers={"Origin": own,
                                            "Sec-Fetch-Site": "same-origin"})
        assert st == 200 and b["version"] == 4, (st, p)
        st, b, _, p, _ = d.request("POST", s + "/ops", {"op": "spawn"},
                                   headers={"Sec-Fetch-Site": "none"})
        assert st == 200 and b["version"] == 5, (st, p)
        st, b, _, p, _ = d.request("POST", s + "/rewind", {"to": 3})
        assert st == 200 and b["version"] == 3, (st, p)
    finally:
        d.cleanup()


def cross_site_reads_get_no_cors_headers():
    """GET is not refused (a link may open the page), but without
    --cors-origin no answer lets another origin read it."""
    d = Daemon(RMAPD).start()
    try:
        sid = with_session(d)
        st, _, _, _, h = d.request("GET", "/api/v1/sessions/%d" % sid,
                                   headers={"Origin": "http://evil.example",
                                            "Sec-Fetch-Site": "cross-site"})
        assert st == 200
        assert not any(k.lower().startswith("access-control") for k in h), h
        st, _, ct, payload, h = d.request(
            "OPTIONS", "/api/v1/sessions/%d/rewind" % sid,
            headers={"Origin": "http://evil.example",
                     "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "content-type"})
        problem(st, ct, payload, 403, "cross-origin")
        assert not any(k.lower().startswith("access-control") for k in h), h
    finally:
        d.cleanup()


def cors_origin_flag_allows_exactly_its_origins():
    allowed = "http://teacher.example:9000"
    d = Daemon(RMAPD, args=["--cors-origin", allowed,
                            "--cors-origin", "https://b.example"]).start()
    try:
        sid = with_session(d)
        s = "/api/v1/sessions/%d" % sid
        st, _, _, payload, h = d.request(
            "OPTIONS", s + "/rewind",
            headers={"Origin": allowed, "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "content-type"})
        assert st == 204, (st, payload)
        assert h.get("Access-Control-Allow-Origin") == allowed, h
        assert "POST" in h.get("Access-Control-Allow-Methods", ""), h
        assert "Content-Type" in h.get("Access-Control-Allow-Headers", ""), h
        st, b, _, p, h = d.request("POST", s + "/rewind", {"to": 2},
                                   headers={"Origin": allowed,
                                            "Sec-Fetch-Site": "cross-site"})
        assert st == 200 and b["version"] == 2, (st, p)
        assert h.get("Access-Control-Allow-Origin") == allowed, h
        assert h.get("Vary") == "Origin", h
        st, _, _, _, h = d.request("GET", s, headers={"Origin": "https://b.example"})
        assert h.get("Access-Control-Allow-Origin") == "https://b.example", h
        st, _, ct, payload, h = d.request("POST", s + "/rewind", {"to": 0},
                                          headers={"Origin": "http://evil.example"})
        problem(st, ct, payload, 403, "cross-origin")
        assert "Access-Control-Allow-Origin" not in h, h
        assert len(d.journal(sid)) == 2
    finally:
        d.cleanup()


def bad_flag_values_are_refused():
    for args in (["--cors-origin", "*"], ["--cors-origin", "http://x/path"],
                 ["--cors-origin", "ftp://x"], ["--cors-origin", "http://x:"],
                 ["--server-name", "evil.example:80"],
                 ["--server-name", "a/b"], ["--server-name", ""]):
        out = subprocess.run([RMAPD, "--listen", "127.0.0.1:0", "--db",
                              "/nonexistent/x"] + args, capture_output=True,
                             text=True, timeout=10)
        assert out.returncode == 2, (args, out.returncode, out.stderr)
        assert "--" + args[0][2:] in out.stderr, (args, out.stderr)
    text = subprocess.run([RMAPD, "--help"], capture_output=True,
                          text=True).stdout
    assert "--server-name NAME" in text and "--cors-origin ORIGIN" in text


# ---- 2. Host allow-list (DNS rebinding) ----

def rebound_host_gets_neither_a_read_nor_a_delete():
    d = Daemon(RMAPD).start()
    try:
        sid = with_session(d)
        s = "/api/v1/sessions/%d" % sid
        for host in ("evil.example", "evil.example:%d" % d.port,
                     "localhost:%d" % (d.port + 1), "127.0.0.2:%d" % d.port,
                     "localhost.:%d" % d.port, "[::2]:%d" % d.port,
                     "127.0.0.1:%d:1" % d.port, "127.0.0.1:0%d" % d.port):
            for method in ("GET", "DELETE"):
                st, _, ct, payload, _ = d.request(method, s,
                                                  headers={"Host": host})
                doc = problem(st, ct, payload, 421, "unknown-host")
                assert doc["field"] == "Host", doc
        journal_intact(d, sid)
    finally:
        d.cleanup()


def loopback_names_with_and_without_the_port_are_served():
    d = Daemon(RMAPD).start()
    try:
        for host in ("localhost", "LocalHost:%d", "127.0.0.1", "127.0.0.1:%d",
                     "[::1]", "[::1]:%d"):
            h = host % d.port if "%d" in host else host
            st, _, _, payload, _ = d.request("GET", "/healthz",
                                             headers={"Host": h})
            assert st == 200, (h, st, payload)
    finally:
        d.cleanup()


def missing_or_repeated_host_is_400():
    d = Daemon(RMAPD).start()
    try:
        sid = with_session(d)
        # the attack: no Host at all got full reads and DELETE
        for method in (b"GET", b"DELETE"):
            st, h, b = raw(d, method + b" /api/v1/sessions/%d HTTP/1.1\r\n"
                           b"Connection: close\r\n\r\n" % sid)
            problem(st, h.get("content-type"), b, 400, "missing-host")
        journal_intact(d, sid)
        st, h, b = raw(d, b"GET /api/v1/sessions HTTP/1.1\r\n"
                       b"Connection: close\r\n\r\n")
        problem(st, h.get("content-type"), b, 400, "missing-host")
        st, h, b = raw(d, b"GET /healthz HTTP/1.0\r\n\r\n")
        assert st == 200, (st, b)
        # two Host headers: a proxy might route by one, rmapd check the other
        st, h, b = raw(d, b"GET /api/v1/sessions HTTP/1.1\r\n"
                       b"Host: 127.0.0.1:%d\r\nHost: evil.example\r\n"
                       b"Connection: close\r\n\r\n" % d.port)
        problem(st, h.get("content-type"), b, 400, "missing-host")
    finally:
        d.cleanup()


# TEST-NET-1 (RFC 5737): an address no machine has, given to lo in a
# network namespace of the test's own, so that the check does not depend
# on the machine's network
NETNS_ADDR = "192.0.2.10"


def netns_statuses():
    """Inside the namespace: start rmapd on NETNS_ADDR and print, as JSON,
    the status and content type of GET /healthz for each Host."""
    subprocess.run(["ip", "addr", "add", NETNS_ADDR + "/32", "dev", "lo"],
                   check=True)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    addr, port = NETNS_ADDR, free_port()
    tmp = tempfile.mkdtemp(prefix="rmapd-test-")
    proc = subprocess.Popen([RMAPD, "--listen", "%s:%d" % (addr, port),
                             "--allow-remote", "--db",
                             os.path.join(tmp, "db.sqlite")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = {}
    try:
        for host in (addr, "%s:%d" % (addr, port), "localhost:%d" % port,
                     "127.0.0.1:%d" % port, "[::1]:%d" % port,
                     "%s:%d" % (addr, port + 1)):
            for _ in range(100):
                try:
                    c = http.client.HTTPConnection(addr, port, timeout=10)
                    c.request("GET", "/healthz", headers={"Host": host})
                    r = c.getresponse()
                    out[host] = [r.status, r.getheader("Content-Type"),
                                 r.read().decode()]
                    break
                except ConnectionRefusedError:
                    time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({"port": port, "answers": out}))


def non_loopback_listener_serves_its_address_not_localhost():
    """On an address that is not loopback, the Host must name it: the
    loopback names get 421 (in a network namespace of its own, where
    NETNS_ADDR is an address of lo; unshare -rn needs no privilege)."""
    run = subprocess.run(["unshare", "-rn", sys.executable,
                          os.path.abspath(__file__), RMAPD, "--netns"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, (run.returncode, run.stderr[-2000:])
    res = json.loads(run.stdout)
    addr, port, answers = NETNS_ADDR, res["port"], res["answers"]
    assert len(answers) == 6, answers
    for host in (addr, "%s:%d" % (addr, port)):
        assert answers[host][0] == 200, (host, answers[host])
    for host in ("localhost:%d" % port, "127.0.0.1:%d" % port,
                 "[::1]:%d" % port, "%s:%d" % (addr, port + 1)):
        st, ct, payload = answers[host]
        problem(st, ct, payload.encode(), 421, "unknown-host")


def socket_activation_serves_the_port_of_the_socket_it_got():
    """Under systemd the port is the passed socket's, not --listen's."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)
    port = lsock.getsockname()[1]
    tmp = tempfile.mkdtemp(prefix="rmapd-test-")
    proc = subprocess.Popen(
        ["sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@"', RMAPD,
         "--db", os.path.join(tmp, "db.sqlite")],
        preexec_fn=lambda: os.dup2(lsock.fileno(), 3), pass_fds=(3,),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lsock.close()
    try:
        def get(host):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/healthz", headers={"Host": host})
            r = c.getresponse()
            return r.status, r.getheader("Content-Type"), r.read()
        for host in ("127.0.0.1:%d" % port, "localhost:%d" % port, "localhost"):
            st, _, payload = get(host)
            assert st == 200, (host, st, payload)
        st, ct, payload = get("localhost:8080")
        problem(st, ct, payload, 421, "unknown-host")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)


def server_name_flag_and_config_line_add_names():
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write("server-name = rmapd.lab.example\n")
    d = Daemon(RMAPD, args=["--server-name", "Classroom", "--config", f.name,
                            "--server-name", "2001:db8::5"]).start()
    try:
        for host in ("classroom", "classroom:443", "rmapd.lab.example",
                     "rmapd.lab.example:8443", "[2001:db8::5]:80",
                     "localhost:%d" % d.port):
            st, _, _, payload, _ = d.request("GET", "/healthz",
                                             headers={"Host": host})
            assert st == 200, (host, st, payload)
        st, _, ct, payload, _ = d.request("GET", "/healthz",
                                          headers={"Host": "evil.example"})
        problem(st, ct, payload, 421, "unknown-host")
    finally:
        d.cleanup()
        os.unlink(f.name)


# ---- 7. errors are problem+json in valid UTF-8; strict input ----

def problem_documents_cut_client_text_at_a_character_boundary():
    d = Daemon(RMAPD).start()
    try:
        sid = with_session(d)
        def refused(body, status, kind):
            st, _, ct, payload, _ = d.request(
                "POST", "/api/v1/sessions/%d/ops" % sid,
                raw=json.dumps(body, ensure_ascii=False).encode())
            return problem(st, ct, payload, status, kind)
        # field[64] holds 63 bytes: 31 two-byte characters and half of one
        doc = refused({"op": "spawn", "\u00e9" * 150: 1}, 422, "unknown-field")
        assert doc["field"] == "\u00e9" * 31, doc["field"]
        # detail[240]: the 29 bytes of "spawn does not take a field '", "a",
        # then 104 characters and half of one
        doc = refused({"op": "spawn", "a" + "\u00e9" * 150: 1}, 422,
                      "unknown-field")
        assert doc["detail"] == ("spawn does not take a field 'a"
                                 + "\u00e9" * 104), doc["detail"]
        # "%.40s" cuts the 20th character after "a"
        doc = refused({"op": "a" + "\u00e9" * 50}, 422, "unknown-op")
        assert doc["detail"].startswith("unknown op 'a" + "\u00e9" * 19 + "': "), doc
        journal_intact(d, sid)
    finally:
        d.cleanup()


def invalid_utf8_from_the_client_never_reaches_a_document():
    d = Daemon(RMAPD).start()
    try:
        sid = with_session(d)
        st, _, ct, payload, _ = d.request(
            "POST", "/api/v1/sessions/%d/ops" % sid,
            raw=b'{"op":"spawn","x\xff\xfe":1}')
        problem(st, ct, payload, 400, "malformed-json")
        st, _, ct, payload, _ = d.request(
            "POST", "/api/v1/sessions/%d/ops" % sid,
            raw=b'{"op":"spawn","\xed\xa0\x80":1}')          # a surrogate
        problem(st, ct, payload, 400, "malformed-json")
        for path in ("/api/v1/sessions/%ff", "/api/v1/scenarios/%c3",
                     "/api/v1/sessions/%d/snapshots/%%e9%%80/restore" % sid):
            st, _, ct, payload, _ = d.request("GET", path)
            problem(st, ct, payload, 400, "bad-path")
        # bytes that begin no character are replaced; a lead byte with its
        # character cut short (as a truncation would leave it) is dropped
        st, h, b = raw(d, b"GET /healthz HTTP/1.1\r\nHost: \xffevil\xfe\xe9\r\n"
                       b"Connection: close\r\n\r\n")
        doc = problem(st, h["content-type"], b, 421, "unknown-host")
        assert "'\ufffdevil\ufffd'" in doc["detail"], doc
        journal_intact(d, sid)
    finally:
        d.cleanup()


def long_targets_and_headers_are_problem_documents():
    """Past rmapd's 8 KiB for the target or the headers, and well within
    libmicrohttpd's own pool, the refusal is rmapd's problem document."""
    d = Daemon(RMAPD).start()
    try:
        st, _, ct, payload, _ = d.request("GET", "/api/v1/sessions?x=" + "a" * 9000)
        problem(st, ct, payload, 414, "uri-too-long")
        st, _, ct, payload, _ = d.request("GET", "/" + "a" * 9000)
        problem(st, ct, payload, 414, "uri-too-long")
        st, _, ct, payload, _ = d.request("GET", "/healthz",
                                          headers={"X-Big": "b" * 9000})
        problem(st, ct, payload, 431, "headers-too-large")
        st, _, ct, payload, _ = d.request(
            "GET", "/healthz", headers={"X-%d" % i: "c" * 200 for i in range(50)})
        problem(st, ct, payload, 431, "headers-too-large")
        # a few hundred small headers fill libmicrohttpd's pool so that it
        # has no room for any answer: more than 100 are refused first
        st, _, ct, payload, _ = d.request(
            "GET", "/healthz", headers={"X%d" % i: "a" for i in range(400)})
        problem(st, ct, payload, 431, "headers-too-large")
        st, _, _, _, _ = d.request(
            "GET", "/healthz", headers={"X%d" % i: "a" for i in range(90)})
        assert st == 200, st
        # 1,900 query arguments in 3.8 KB left libmicrohttpd's pool without
        # room for them: no answer, the connection closed after 10 s
        t0 = time.monotonic()
        st, _, ct, payload, _ = d.request("GET", "/healthz?" + "&".join(
            "a" for i in range(1900)))
        problem(st, ct, payload, 414, "uri-too-long")
        assert "64 query arguments" in json.loads(payload)["detail"]
        assert time.monotonic() - t0 < 5
        st, _, _, _, _ = d.request("GET", "/healthz?" + "&".join(
            "a%d=1" % i for i in range(64)))
        assert st == 200, st
    finally:
        d.cleanup()


H = b"Host: 127.0.0.1\r\n"
JSON = b"Content-Type: application/json\r\n"
POST = b"POST /api/v1/sessions HTTP/1.1\r\n" + H + JSON

MALFORMED = (400, "malformed-request")


def get(line=b"GET /healthz HTTP/1.1", fields=b""):
    return line + b"\r\n" + H + fields + b"\r\n"


def post(fields, body=b"{}"):
    return POST + fields + b"\r\n" + body


# heads that libmicrohttpd 0.9.75 answers itself (an HTML page, or nothing
# at all) or takes although RFC 9112 says to refuse them
BAD_HEADS = (
    [(get(line),) + MALFORMED for line in (
        b"GARBAGE", b"GET /healthz", b" /healthz HTTP/1.1",
        b"GET\t/healthz\tHTTP/1.1", b"GET  /healthz HTTP/1.1",
        b"G(T /healthz HTTP/1.1", b"GET /healthz HTTX/1.1",
        b"GET /healthz http/1.1", b"GET /healthz HTTP/1.10",
        b"GET /healthz HTTP/1.1\r", bytes(range(1, 256)))] +
    [(get(b"GET /healthz " + v), 505, "http-version-not-supported")
     for v in (b"HTTP/2.0", b"HTTP/0.9", b"HTTP/3.0")] +
    [(get(fields=f + b"\r\n"),) + MALFORMED for f in (
        b"NoColon", b"X-A : b", b"X-A: b\r\n c", b"X-A: a\rb", b"X-A: a\0b",
        b"X-A: a\x01b")] +
    [(post(f),) + MALFORMED for f in (
        b"Content-Length: abc\r\n", b"Content-Length: -1\r\n",
        b"Content-Length: 2\r\nContent-Length: 3\r\n")] +
    [(post(b"Content-Length: %s\r\n" % n), 413, "body-too-large")
     for n in (b"99999999999999999999999", b"1048577")] +
    [(post(f, body), 411, "length-required") for f, body in (
        (b"Transfer-Encoding: chunked\r\n", b"2\r\n{}\r\n0\r\n\r\n"),
        (b"Transfer-Encoding: chunked\r\n", b"zz\r\n{}\r\n0\r\n\r\n"),
        (b"Transfer-Encoding: gzip\r\n", b"{}"),
        (b"Transfer-Encoding: chunked\r\nContent-Length: 2\r\n",
         b"2\r\n{}\r\n0\r\n\r\n"))] +
    [(get(b"GET /" + b"a" * 40000 + b" HTTP/1.1"), 414, "uri-too-long"),
     (get(fields=b"X-A: " + b"a" * 40000 + b"\r\n"), 431, "headers-too-large"),
     (get(fields=b"".join(b"X-%d: a\r\n" % i for i in range(3000))), 431,
      "headers-too-large"),
     (b"\r\n" * 20000 + get(), 431, "headers-too-large")])


def refused_whole(out, data, status, kind):
    """out, the answer to data, is one whole problem document, the last."""
    assert out, (data[:60], "closed without an answer")
    st, h, body = split_answer(out)
    assert int(h.get("content-length", -1)) == len(body), (data[:60], h)
    problem(st, h.get("content-type"), body, status, kind)
    assert h.get("connection") == "close", (data[:60], h)
    assert "frame-ancestors 'none'" in h.get("content-security-policy", ""), h


def malformed_heads_get_problem_documents_not_html():
    """Every head libmicrohttpd would answer with its own HTML page (or a
    bare close), or would take although HTTP says to refuse it, gets a
    problem document with the right status, the security headers and
    Connection: close; nothing reaches the router, so nothing changes."""
    d = Daemon(RMAPD).start()
    try:
        for data, status, kind in BAD_HEADS:
            refused_whole(answer_and_close(d, data), data, status, kind)
        assert d.json("GET", "/api/v1/sessions") == []
        # what HTTP allows still passes: HTTP/1.0 without Host, empty lines
        # before the request line, a bare LF, an HTTP/1.x minor version
        for data in (b"GET /healthz HTTP/1.0\r\n\r\n",
                     b"\r\n\r\nGET /healthz HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n",
                     b"GET /healthz HTTP/1.1\n" + H[:-2] + b"\nConnection: close\n\n",
                     b"GET /healthz HTTP/1.2\r\n" + H + b"Connection: close\r\n\r\n",
                     POST + b"Content-Length: 2\r\nConnection: close\r\n\r\n{}"):
            st, h, body = split_answer(answer_and_close(d, data))
            assert st in (200, 201), (data[:60], st, body)
        assert len(d.json("GET", "/api/v1/sessions")) == 1
        log = d.log_text()
        assert "<html>" not in log and "libmicrohttpd:" not in log, log[-2000:]
    finally:
        d.cleanup()


def kept_alive(d, first):
    """A connection whose first request was answered, kept alive."""
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    s.sendall(first)
    resp = http.client.HTTPResponse(s)
    resp.begin()
    assert resp.status in (200, 201) and resp.read(), resp.status
    assert resp.getheader("Connection") != "close"
    return s


def follow_up_heads_get_problem_documents_not_html():
    """A kept-alive connection's next requests are read by libmicrohttpd,
    not by the front door: each bad head above, sent after a good request
    (a GET, or a POST with a body), gets the same problem document as a
    first request would, never libmicrohttpd's HTML or a bare close."""
    d = Daemon(RMAPD).start()
    try:
        firsts = (b"GET /healthz HTTP/1.1\r\n" + H + b"\r\n",
                  post(b"Content-Length: 13\r\n", b'{"name":"k"}\n'))
        for i, (data, status, kind) in enumerate(BAD_HEADS):
            s = kept_alive(d, firsts[i % 2])
            s.sendall(data)
            refused_whole(recv_all(s), data, status, kind)
        # one session per POST first, none from a refused follow-up
        assert len(d.json("GET", "/api/v1/sessions")) == len(BAD_HEADS) // 2
        log = d.log_text()
        assert "<html>" not in log and "libmicrohttpd:" not in log, log[-2000:]
    finally:
        d.cleanup()


def good_follow_ups_are_served_on_the_same_connection():
    """The check of each follow-up lets good ones through: many requests,
    with and without bodies, a head split over several sends and a body
    sent after its head, all on one connection."""
    d = Daemon(RMAPD).start()
    try:
        s = kept_alive(d, b"GET /healthz HTTP/1.1\r\n" + H + b"\r\n")
        for i in range(20):
            req = (post(b"Content-Length: 2\r\n") if i % 2 else
                   b"GET /api/v1/sessions HTTP/1.1\r\n" + H + b"\r\n")
            if i % 5 == 3:      # trickled: the head cut in three, then the body
                head, _, body = req.partition(b"\r\n\r\n")
                for part in (head[:7], head[7:30], head[30:] + b"\r\n\r\n", body):
                    s.sendall(part)
                    time.sleep(0.05)
            else:
                s.sendall(req)
            resp = http.client.HTTPResponse(s)
            resp.begin()
            assert resp.status == (201 if i % 2 else 200), (i, resp.status)
            resp.read()
            assert resp.getheader("Connection") != "close", i
        s.close()
        assert len(d.json("GET", "/api/v1/sessions")) == 10
    finally:
        d.cleanup()


def follow_up_heads_in_pieces_or_past_the_buffer_are_judged_whole():
    """A follow-up's head is judged on what libmicrohttpd's read brought,
    and what is not whole yet is kept until it is: bad heads sent seven
    bytes at a time get the problem document they get sent whole; a good
    head of nearly 15 KB (more than one read of libmicrohttpd's buffer),
    trickled or not, is served, and so is the next request behind it."""
    d = Daemon(RMAPD).start()
    try:
        first = b"GET /healthz HTTP/1.1\r\n" + H + b"\r\n"
        for data, status, kind in BAD_HEADS[:3] + BAD_HEADS[11:13] + \
                BAD_HEADS[14:16]:
            s = kept_alive(d, first)
            for i in range(0, len(data), 7):
                s.sendall(data[i:i + 7])
                time.sleep(0.002)
            refused_whole(recv_all(s), data, status, kind)
        big = (b"GET /healthz?a=" + b"1" * 7600 + b" HTTP/1.1\r\n" + H +
               b"".join(b"X-%02d: %s\r\n" % (i, b"v" * 70)
                        for i in range(90)) + b"\r\n")
        for trickle in (False, True):
            s = kept_alive(d, first)
            step = 1000 if trickle else len(big)
            for i in range(0, len(big), step):
                s.sendall(big[i:i + step])
                time.sleep(0.01 if trickle else 0)
            for _ in range(2):
                resp = http.client.HTTPResponse(s)
                resp.begin()
                assert resp.status == 200, (trickle, resp.status)
                assert json.loads(resp.read())["status"] == "ok"
                assert resp.getheader("Connection") != "close", trickle
                s.sendall(first)
            s.close()
        log = d.log_text()
        assert "<html>" not in log and "libmicrohttpd:" not in log, log[-2000:]
    finally:
        d.cleanup()


def pipelined_requests_are_answered_then_closed():
    """A request sent before the answer to the previous one (pipelining,
    which browsers and curl do not use) is not read by libmicrohttpd: the
    answer in hand says Connection: close, and a bad head pipelined behind
    a good request never gets libmicrohttpd's HTML."""
    d = Daemon(RMAPD).start()
    try:
        good = b"GET /healthz HTTP/1.1\r\n" + H + b"\r\n"
        for data in (good, get(b"GET /healthz HTTP/2.0"),
                     get(fields=b"X-A: " + b"a" * 40000 + b"\r\n")):
            s = kept_alive(d, good)
            s.sendall(good + data)
            out = recv_all(s)
            st, h, body = split_answer(out)
            assert st == 200 and h.get("connection") == "close", (st, h)
            assert int(h["content-length"]) == len(body), (h, out[-300:])
            assert b"<html" not in out.lower(), out[-300:]
    finally:
        d.cleanup()


def control_bytes_around_or_inside_json_are_refused():
    """cJSON skips every byte up to 0x20 as whitespace and takes raw control
    bytes inside strings; JSON allows neither."""
    d = Daemon(RMAPD).start()
    try:
        sid = with_session(d)
        o = "/api/v1/sessions/%d/ops" % sid
        for body in (b'\x01{"op":"spawn"}', b'\x00{"op":"spawn"}',
                     b'{"op":\x0b"spawn"}', b'{"op"\x1f:"spawn"}',
                     b'{"op":"spawn"}\x0c', b'{"op":"spawn"}\x00',
                     b'{"ops":[{"op":"spawn"},\x08{"op":"spawn"}]}',
                     b'{"op":"sp\x01awn"}', b'{"op":"spawn","layout":"proc\tess"}',
                     b'{"op":"spawn","layout":"\n"}'):
            st, _, ct, payload, _ = d.request("POST", o, raw=body)
            problem(st, ct, payload, 400, "malformed-json")
        st, _, ct, payload, _ = d.request("POST", "/api/v1/sessions/%d/rewind"
                                          % sid, raw=b'{"to":\x010}')
        problem(st, ct, payload, 400, "malformed-json")
        journal_intact(d, sid)
        # JSON's own whitespace, and escaped controls, are fine
        st, b, _, payload, _ = d.request(
            "POST", o, raw=b' \t\r\n{"op" :\n"spawn"}\r\n ')
        assert st == 200 and b["version"] == 4, payload
    finally:
        d.cleanup()


def ids_in_paths_are_canonical_decimal_only():
    d = Daemon(RMAPD).start()
    try:
        sid = with_session(d)
        assert sid == 1
        for text in ("%201", "0001", "01", "+1", "%2B1", "1%20", "%091",
                     "1.0", "0x1", "1e0", "%EF%BC%91"):
            for tail in ("", "/ops", "/check"):
                st, _, ct, payload, _ = d.request("GET", "/api/v1/sessions/"
                                                  + text + tail)
                if st == 400:   # %09, a control byte, is refused as such
                    problem(st, ct, payload, 400, "bad-path")
                    assert text == "%091", text
                    continue
                problem(st, ct, payload, 404, "no-such-session")
        st, _, ct, payload, _ = d.request("DELETE", "/api/v1/sessions/01")
        problem(st, ct, payload, 404, "no-such-session")
        st, _, ct, payload, _ = d.request("GET", "/api/v1/sessions/1/frames/01/walk")
        assert st == 404, (st, payload)
        st, _, ct, payload, _ = d.request("GET", "/api/v1/sessions/1/ops?from=01")
        assert st == 400, (st, payload)
        assert d.json("GET", "/api/v1/sessions/1/frames/1/walk")["visited"] == 1
        journal_intact(d, sid)
    finally:
        d.cleanup()


def nul_and_control_bytes_in_paths_are_refused_400():
    d = Daemon(RMAPD).start()
    try:
        sid = with_session(d)
        s = "/api/v1/sessions/%d" % sid
        for path in (s + "%00", s + "%00/ops", s + "/ops%00x", s + "%01",
                     s + "/check%0a", "/healthz%00", "/index.html%00.png",
                     s + "%7f", "/api/v1/scenarios/fork-cow%1b"):
            st, _, ct, payload, _ = d.request("GET", path)
            problem(st, ct, payload, 400, "bad-path")
        st, _, ct, payload, _ = d.request("DELETE", s + "%00")
        problem(st, ct, payload, 400, "bad-path")
        st, _, ct, payload, _ = d.request("POST", s + "%00/rewind", {"to": 0})
        problem(st, ct, payload, 400, "bad-path")
        journal_intact(d, sid)
    finally:
        d.cleanup()


# ---- 9. security headers on every answer ----

def every_answer_carries_the_security_headers():
    d = Daemon(RMAPD).start()
    try:
        sid = with_session(d)
        s = "/api/v1/sessions/%d" % sid
        answers = [d.request("GET", "/"), d.request("GET", "/js/api.js"),
                   d.request("GET", "/healthz"), d.request("GET", "/metrics"),
                   d.request("GET", s), d.request("GET", "/nope"),
                   d.request("HEAD", "/"),
                   d.request("GET", "/", headers={"Host": "evil.example"}),
                   d.request("POST", s + "/ops", raw=b"{", headers={
                       "Content-Type": "text/plain"}),
                   d.request("POST", s + "/ops", raw=b"{"),
                   d.request("DELETE", s)]
        statuses = [a[0] for a in answers]
        assert statuses == [200, 200, 200, 200, 200, 404, 200, 421, 415, 400,
                            204], statuses
        for st, _, _, _, h in answers:
            csp = h.get("Content-Security-Policy", "")
            directives = dict((p.strip().split(" ", 1) + [""])[:2]
                              for p in csp.split(";") if p.strip())
            assert directives.get("default-src") == "'self'", (st, csp)
            assert directives.get("script-src") == "'self'", (st, csp)
            assert directives.get("frame-ancestors") == "'none'", (st, csp)
            assert directives.get("base-uri") == "'none'", (st, csp)
            assert directives.get("form-action") == "'self'", (st, csp)
            assert "unsafe" not in csp, csp
            assert h.get("X-Content-Type-Options") == "nosniff", (st, h)
            assert h.get("Referrer-Policy") == "no-referrer", (st, h)
            assert h.get("X-Frame-Options") == "DENY", (st, h)
    finally:
        d.cleanup()


def openapi_documents_every_refusal():
    d = Daemon(RMAPD).start()
    try:
        doc = d.json("GET", "/api/v1/openapi.json")
        for path, methods in doc["paths"].items():
            for method, spec in methods.items():
                want = {"400", "411", "414", "421", "431", "505"}
                if method != "get":
                    want |= {"403", "415"}
                missing = want - set(spec["responses"])
                assert not missing, (method, path, missing)
    finally:
        d.cleanup()


def main():
    if sys.argv[2:] == ["--netns"]:
        netns_statuses()
        return 0
    res = Results()
    for t in (no_cors_text_plain_rewind_is_refused_415,
              body_without_content_type_is_refused_415,
              json_content_type_with_parameters_is_accepted,
              bodiless_post_needs_no_content_type,
              cross_site_browser_requests_are_refused_403,
              own_origin_and_plain_clients_may_change_state,
              cross_site_reads_get_no_cors_headers,
              cors_origin_flag_allows_exactly_its_origins,
              bad_flag_values_are_refused,
              rebound_host_gets_neither_a_read_nor_a_delete,
              loopback_names_with_and_without_the_port_are_served,
              missing_or_repeated_host_is_400,
              non_loopback_listener_serves_its_address_not_localhost,
              socket_activation_serves_the_port_of_the_socket_it_got,
              server_name_flag_and_config_line_add_names,
              problem_documents_cut_client_text_at_a_character_boundary,
              invalid_utf8_from_the_client_never_reaches_a_document,
              long_targets_and_headers_are_problem_documents,
              malformed_heads_get_problem_documents_not_html,
              follow_up_heads_get_problem_documents_not_html,
              good_follow_ups_are_served_on_the_same_connection,
              follow_up_heads_in_pieces_or_past_the_buffer_are_judged_whole,
              pipelined_requests_are_answered_then_closed,
              control_bytes_around_or_inside_json_are_refused,
              ids_in_paths_are_canonical_decimal_only,
              nul_and_control_bytes_in_paths_are_refused_400,
              every_answer_carries_the_security_headers,
              openapi_documents_every_refusal):
        res.run(t)
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
