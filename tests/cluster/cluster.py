"""Several rmapd nodes on one database behind nginx on loopback ports, nginx
running the configuration shipped in systemd/nginx-rmapd.conf (its node
addresses, listen port and server name replaced), started with -p DIR -c
CONF as whoever runs the test, stopped after.  The database is a fresh one
of the test process's throwaway PostgreSQL (rmapd_client.new_db), or with
backend="sqlite" one SQLite file shared by the nodes (WAL mode)."""
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
from rmapd_client import Daemon, free_port, new_db  # noqa: E402

SITE = os.path.join(os.path.dirname(__file__), "..", "..", "systemd",
                    "nginx-rmapd.conf")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
NODE_HEADER = "X-Rmapd-Node"


def site_conf(port, node_ports):
    """The shipped site with these addresses; each answer says which node
    made it (NODE_HEADER), for the test to tell a dead node's sessions."""
    with open(SITE) as f:
        text = f.read()
    servers = "".join("\tserver 127.0.0.1:%d max_fails=1 fail_timeout=5s;\n"
                      % p for p in node_ports)
    text, n = re.subn(r"(\tserver 127\.0\.0\.1:\d+ [^\n]*\n)+", servers, text)
    assert n == 1, "the upstream's server lines moved"
    text = text.replace("listen 80;", "listen 127.0.0.1:%d;" % port)
    text = text.replace("server_name lab.example.org;",
                        "server_name 127.0.0.1;\n\tadd_header %s "
                        "$upstream_addr always;" % NODE_HEADER)
    return text


class Cluster:
    def __init__(self, rmapd, nodes=3, args=(), backend="postgresql"):
        self.tmp = tempfile.mkdtemp(prefix="rmapd-cluster-")
        self.db = new_db(self.tmp, backend)
        # nginx's address is a trusted proxy: it names each client
        node_args = ["--shared-db", "--server-name", "127.0.0.1",
                     "--trusted-proxy", "127.0.0.1"] + list(args)
        self.nodes = [Daemon(rmapd, db=self.db, args=node_args)
                      for _ in range(nodes)]
        self.ports = [free_port() for _ in range(nodes)]
        self.port = free_port()
        self.nginx = None

    def start(self):
        for d, p in zip(self.nodes, self.ports):
            d.start(p)
        self.start_nginx()
        return self

    def start_nginx(self):
        ngx = os.path.join(self.tmp, "nginx")
        os.makedirs(os.path.join(ngx, "logs"), exist_ok=True)
        with open(os.path.join(ngx, "site.conf"), "w") as f:
            f.write(site_conf(self.port, self.ports))
        temps = "".join("\t%s_temp_path %s/tmp-%s;\n" % (k, ngx, k) for k in
                        ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        with open(os.path.join(ngx, "nginx.conf"), "w") as f:
            f.write("%sdaemon off;\nworker_processes 1;\npid %s/nginx.pid;\n"
                    "error_log %s/logs/error.log warn;\n"
                    "events { worker_connections 4096; }\n"
                    "http {\n\taccess_log off;\n%s\tinclude site.conf;\n}\n"
                    % ("user root;\n" if os.geteuid() == 0 else "", ngx, ngx,
                       temps))
        self.nginx = subprocess.Popen(
            [NGINX, "-p", ngx, "-c", os.path.join(ngx, "nginx.conf"),
             "-e", os.path.join(ngx, "logs", "error.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port,
                                               timeout=5)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def kill(self, i):
        self.nodes[i].stop(9)

    def restart(self, i):
        self.nodes[i].start(self.ports[i])

    def stop(self):
        if self.nginx:
            self.nginx.terminate()
            self.nginx.wait(timeout=30)
            self.nginx = None
        for d in self.nodes:
            d.stop()

    def cleanup(self):
        try:
            self.stop()
        finally:
            for d in self.nodes:
                d.cleanup()
            shutil.rmtree(self.tmp, ignore_errors=True)
