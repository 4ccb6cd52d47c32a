"""The README's curl tutorial, run exactly as written against a real rmapd:
its shell blocks, in order, in one bash, with RMAPD pointing at the test
daemon."""
import os
import re
import subprocess
import sys

from rmapd_client import Daemon, Results

RMAPD = sys.argv[1]
README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")


def tutorial_blocks():
    text = open(README).read()
    part = text.split("## Tutorial: rmapd with curl", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", part, re.S)


def main():
    d = Daemon(RMAPD).start()
    res = Results()
    blocks = tutorial_blocks()
    out = subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(blocks)],
                         capture_output=True, text=True,
                         env=dict(os.environ, RMAPD="http://127.0.0.1:%d" % d.port))
    print(out.stdout[-3000:])

    def tutorial_has_six_blocks():
        assert len(blocks) == 6, len(blocks)

    def every_command_succeeded():
        assert out.returncode == 0, out.stderr

    def outputs_are_what_the_text_says():
        o = out.stdout
        assert "/api/v1/sessions/1\n" in o
        assert '"fault":"anonymous"' in o
        assert '"child":2' in o
        assert '"fault":"wp_page_copy"' in o
        assert '"visited":2,"mapped":1' in o
        assert '{"ok":true,"violations":[],"dropped":0}' in o
        assert '"version":5' in o
    for t in (tutorial_has_six_blocks, every_command_succeeded,
              outputs_are_what_the_text_says):
        res.run(t)
    d.cleanup()
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
