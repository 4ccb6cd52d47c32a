"""A token the database cannot check (PostgreSQL stopped) is not a token
that is not valid: the answer is 503 storage-unavailable with Retry-After,
never 401 invalid-credentials (a browser would drop its login, a script
its token), and the same token works again once the server is back.  A
token that is really unknown still gets 401 while the server is up."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
import rmapd_client  # noqa: E402
from rmapd_client import Daemon, Results  # noqa: E402

RMAPD = sys.argv[1]


def get(d, token, path):
    status, body, _, _, hdrs = d.request(
        "GET", path, headers={"Authorization": "Bearer " + token})
    return status, body, hdrs


def stopped_server_is_503_not_401():
    pg = rmapd_client.pg_cluster()
    db = rmapd_client.new_db(None, "postgresql")
    subprocess.run([RMAPD, "user", "add", "ann", "--db", db], check=True,
                   capture_output=True)
    token = subprocess.run([RMAPD, "token", "create", "ann", "--db", db],
                           check=True, capture_output=True,
                           text=True).stdout.strip()
    d = Daemon(RMAPD, db=db, args=["--auth", "on"]).start()
    try:
        status, body, _ = get(d, token, "/api/v1/me")
        assert status == 200 and body["name"] == "ann", (status, body)
        status, body, _ = get(d, "rmt_" + "0" * 40, "/api/v1/me")
        assert status == 401 and body["type"].endswith(
            "invalid-credentials"), (status, body)
        pg._pg_ctl("stop")
        try:
            status, body, hdrs = get(d, token, "/api/v1/me")
            assert status == 503, (status, body)
            assert body["type"].endswith("storage-unavailable"), body
            assert hdrs.get("Retry-After") == "1", hdrs
        finally:
            pg._pg_ctl("start")
        deadline = time.time() + 30
        while get(d, token, "/api/v1/me")[0] != 200:
            assert time.time() < deadline, "the token did not work again"
            time.sleep(0.2)
    finally:
        d.cleanup()


if __name__ == "__main__":
    r = Results()
    r.run(stopped_server_is_503_not_401)
    sys.exit(r.summary())
