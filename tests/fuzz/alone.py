#!/usr/bin/env python3
"""alone.py - an input's answers owe nothing to the inputs run before it.

  alone.py BINARY DIR

Runs the inputs of DIR (in name order) one after another in one process
of the harness BINARY, as libFuzzer runs a corpus, then each alone, with
FUZZ_VERBOSE=1, and compares the statuses each input's requests got: a
harness that carries state from one input to the next (a user's failed
logins, a revoked token) makes a crash that does not reproduce from its
input alone.  The exit status is 0 when every input answered as alone.
"""
import glob
import os
import re
import subprocess
import sys

ANSWER = re.compile(r"^\S+ \S* -> (\d+)")


def statuses(binary, inputs):
    """{input: [status, ...]} of one process running inputs in turn."""
    env = dict(os.environ, FUZZ_VERBOSE="1")
    # no leak check: libFuzzer runs an input that leaves memory allocated
    # (the first opens the database) a second time to look for a leak
    out = subprocess.run([binary, "-detect_leaks=0"] + inputs, env=env,
                         capture_output=True, text=True, errors="replace")
    if out.returncode:
        sys.exit("%s failed (exit %d):\n%s" % (binary, out.returncode,
                                                out.stderr[-2000:]))
    seen, now = {}, None
    for line in out.stderr.splitlines():
        if line.startswith("Running: "):
            now = line[len("Running: "):]
            seen[now] = []
        elif now is not None and ANSWER.match(line):
            seen[now].append(ANSWER.match(line).group(1))
    return seen


def main():
    binary, folder = sys.argv[1], sys.argv[2]
    inputs = sorted(glob.glob(os.path.join(folder, "*")))
    together = statuses(binary, inputs)
    bad = 0
    for path in inputs:
        alone = statuses(binary, [path])[path]
        if not alone:
            print("%s: no answer" % path)
            bad += 1
        elif together[path] != alone:
            print("%s: %s after the inputs before it, %s alone"
                  % (path, " ".join(together[path]), " ".join(alone)))
            bad += 1
    print("%d inputs, %d answered otherwise after the others" %
          (len(inputs), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
