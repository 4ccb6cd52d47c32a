"""Per-address limits behind nginx (--trusted-proxy).  Through the shipped
nginx-rmapd.conf, which sets X-Real-IP, a node that trusts nginx's address
counts failed logins per client (clients on 127.0.0.2 and 127.0.0.3), logs
the client's address, and holds nginx's many connections to no
per-address limit; a spoofed X-Real-IP or X-Forwarded-For from a client
changes nothing (nginx sets the one rmapd reads).  A node that does not
trust its peer ignores those headers: a client naming itself another
address is still counted as itself, logged without one, and held to the
per-address limit."""
import http.client
import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(__file__))
from cluster import Cluster  # noqa: E402
from rmapd_client import Daemon, Results, new_db  # noqa: E402

RMAPD = sys.argv[1]
FAILS_PER_ADDR = 20     # daemon/auth.c


def login(port, source, n, headers=None):
    """A failed login (no such user) from source: its status."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                   source_address=(source, 0))
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    c.request("POST", "/api/v1/login", body=json.dumps(
        {"name": "nobody%d" % n, "password": "wrong"}).encode(), headers=h)
    status = c.getresponse().status
    c.close()
    return status


def held_connections_answer(port, n):
    """n connections open at once from 127.0.0.1, each kept open (no
    connection is let go before all are asked), then a request on each:
    how many were answered."""
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10)
             for _ in range(n)]
    answered = 0
    for s in socks:
        got = b""
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            while b'"status":"ok"' not in got:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        except OSError:
            pass
        answered += got.startswith(b"HTTP/1.1 200")
    for s in socks:
        s.close()
    return answered


def behind_a_trusted_proxy_each_client_is_itself():
    cl = Cluster(RMAPD, nodes=1, backend="sqlite",
                 args=["--auth", "on", "--trusted-proxy", "127.0.0.1",
                       "--max-conns-per-ip", "2"])
    try:
        cl.start()
        for i in range(FAILS_PER_ADDR):
            assert login(cl.port, "127.0.0.2", i) == 401
        assert login(cl.port, "127.0.0.2", 99) == 429
        # its own X-Real-IP or X-Forwarded-For: nginx's X-Real-IP wins
        for spoof in ({"X-Real-IP": "127.0.0.3"},
                      {"X-Forwarded-For": "127.0.0.3"}):
            assert login(cl.port, "127.0.0.2", 98, spoof) == 429
        assert login(cl.port, "127.0.0.3", 97) == 401
        # nginx's address holds no per-address share of the node
        n = held_connections_answer(cl.ports[0], 5)
        assert n == 5, n
        cl.stop()
        log = cl.nodes[0].log_text()
        assert "POST /api/v1/login 401" in log and \
            " client 127.0.0.2\n" in log and " client 127.0.0.3\n" in log
    finally:
        cl.cleanup()


def an_untrusted_peer_names_no_client():
    d = Daemon(RMAPD, db=None, args=["--auth", "on", "--trusted-proxy",
                                     "127.0.0.5"])
    held = Daemon(RMAPD, db=None, args=["--trusted-proxy", "127.0.0.5",
                                        "--max-conns-per-ip", "2"])
    try:
        d.start()
        held.start()
        for i in range(FAILS_PER_ADDR):
            assert login(d.port, "127.0.0.1", i,
                         {"X-Real-IP": "10.0.0.%d" % i,
                          "X-Forwarded-For": "10.1.0.%d" % i}) == 401
        assert login(d.port, "127.0.0.1", 99, {"X-Real-IP": "10.0.0.99"}) \
            == 429
        n = held_connections_answer(held.port, 5)
        assert n == 2, n
        d.stop()
        log = d.log_text()
        assert "POST /api/v1/login 401" in log and " client " not in log, \
            log[-2000:]
    finally:
        d.cleanup()
        held.cleanup()


def main():
    r = Results()
    r.run(behind_a_trusted_proxy_each_client_is_itself)
    r.run(an_untrusted_peer_names_no_client)
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
