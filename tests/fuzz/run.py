#!/usr/bin/env python3
"""run.py - seed corpus and bounded run of one libFuzzer harness of rmapd.

  run.py HARNESS --build BUILD [--work DIR] [--seconds N | --runs N]
         [--corpus DIR] [-- LIBFUZZER-ARGS...]

HARNESS is ops, snapshot or http; BUILD the fuzz build (meson -Dfuzz=true,
see setup.sh).  The seeds are written afresh to DIR/seeds (DIR defaults to
BUILD/tests/fuzz/work-HARNESS) from the lessons (api/lessons), the fidelity
scenarios (tests/fidelity/scenarios), the request lines of the API tests
(tests/api) and, for snapshots, the dumps seed_dump makes of those op
sequences.  Every seed and every committed regression input
(tests/fuzz/regress/HARNESS) is run once, then the harness fuzzes for N
seconds (or N runs) from them, writing new inputs to --corpus (default: a
fresh DIR/corpus) and a crash to DIR/crash-*.  The exit status is 0 when
nothing broke.
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def lessons(src):
    """(name, config, [op, ...]) for every lesson."""
    for path in sorted(glob.glob(os.path.join(src, "api/lessons/*.json"))):
        with open(path) as f:
            lesson = json.load(f)
        yield (lesson["name"], lesson.get("config", {}),
               [s["op"] for s in lesson["steps"] if "op" in s])


def scenarios(src):
    """(name, config, [op, ...]) for every fidelity scenario, its
    region-relative addresses made absolute as the fidelity suite does."""
    sys.path.insert(0, os.path.join(src, "tests/fidelity"))
    import fidelity
    for path in sorted(glob.glob(os.path.join(src, "tests/fidelity/scenarios/*.json"))):
        with open(path) as f:
            scen = fidelity.resolve(json.load(f))
        ops = [op for op in scen["ops"] if op.get("op") != "observe"]
        # the kernel it is compared with has no zero page (run.c --observe)
        yield scen["name"], {"zero_page": False}, ops


def hand_written(src):
    """(name, config, [op, ...]) for tests/fuzz/seeds/*.ops, one op a line:
    the paths no lesson or scenario takes (reclaim, the process layout,
    shared anonymous memory)."""
    for path in sorted(glob.glob(os.path.join(HERE, "seeds", "*.ops"))):
        with open(path) as f:
            ops = [json.loads(line) for line in f if line.strip()]
        yield os.path.basename(path)[:-4], {}, ops


def sequences(src):
    return list(lessons(src)) + list(scenarios(src)) + list(hand_written(src))


def op_lines(config, ops):
    lines = [json.dumps(config)] if config else []
    return "".join(line + "\n" for line in lines + [json.dumps(op) for op in ops])


def api_requests(src):
    """The request lines of the API tests, their %d and %s filled in."""
    seen = []
    pat = re.compile(r'"(GET|POST|DELETE|HEAD|PUT)", *f?"(/[^"]*)"')
    for path in sorted(glob.glob(os.path.join(src, "tests/api/*.py"))):
        with open(path) as f:
            for method, target in pat.findall(f.read()):
                target = target.replace("%d", "1").replace("%s", "s1")
                if (method, target) not in seen:
                    seen.append((method, target))
    return seen


def request(method, target, body=None, caller=""):
    text = "%s %s HTTP/1.1\nHost: 127.0.0.1:8080\n%s" % (method, target, caller)
    if body is not None:
        data = json.dumps(body)
        text += "Content-Type: application/json\nContent-Length: %d\n\n%s" % (
            len(data.encode()), data)
    return text


def http_input(reqs):
    return "\n%%\n".join(reqs)


def seeds_ops(src, dump_tool):
    """Each sequence in both modes: an input runs in one (fuzz_ops.c)."""
    for name, config, ops in sequences(src):
        for mode in ("normal", "legacy"):
            yield "%s-%s" % (name, mode), op_lines(dict(config, mode=mode), ops)


def seeds_snapshot(src, dump_tool):
    for name, config, ops in sequences(src):
        mode = config.get("mode", "normal")
        half = len(ops) // 2
        for tag, first, rest in (("whole", ops, []), ("half", ops[:half], ops[half:])):
            dump = subprocess.run([dump_tool, mode], input=op_lines({}, first),
                                  capture_output=True, text=True, check=True).stdout
            if rest:
                dump += "%%\n" + op_lines({}, rest)
            yield "%s-%s" % (name, tag), dump


def seeds_http(src, dump_tool):
    s = "/api/v1/sessions/1"
    for name, config, ops in lessons(src):
        yield "lesson-" + name, http_input([
            request("POST", "/api/v1/sessions", {"name": name, "scenario": name}),
            request("GET", s + "?view=summary"),
            request("GET", s + "/frames/1/walk"),
            request("POST", s + "/rewind", {"to": 2}),
            request("POST", s + "/snapshots", {"name": "s1"}),
            request("POST", s + "/ops", {"op": "fork", "pid": 1}),
            request("POST", s + "/snapshots/s1/restore", {}),
            request("GET", s + "/check"),
        ])
    for name, config, ops in sequences(src):
        half = len(ops) // 2
        # a batch, one op alone, a batch: the three ways ops arrive
        yield "ops-" + name, http_input([
            request("POST", "/api/v1/sessions", dict(config, name=name[:100])),
            request("POST", s + "/ops", {"ops": ops[:half]}),
            request("POST", s + "/ops", ops[half]) if ops else request("GET", s),
            request("POST", s + "/ops", {"ops": ops[half + 1:]}),
            request("POST", s + "/snapshots", {"name": "s1"}),
            request("GET", s + "/ops?from=1&limit=3"),
            request("POST", s + "/snapshots/s1/clone", {}),
            request("DELETE", s),
        ])
    for i, (method, target) in enumerate(api_requests(src)):
        body = {} if method == "POST" else None
        if target == "/api/v1/sessions" and method == "POST":
            body = {"name": "t", "mode": "legacy", "zero_page": False}
        elif target.endswith("/ops") and method == "POST":
            body = {"op": "spawn"}
        elif target.endswith("/rewind"):
            body = {"to": 1}
        elif target.endswith("/snapshots") and method == "POST":
            body = {"name": "s1"}
        yield "api-%02d" % i, http_input([
            request("POST", "/api/v1/sessions", {"name": "t", "scenario": "fork-cow"}),
            request(method, target, body)])


# the callers fuzz_http.c makes for an input that starts with --auth
ALICE = "Authorization: Bearer rmt_fuzz_alice\n"
ALICE_READ = "Authorization: Bearer rmt_fuzz_alice_read\n"
BOB = "Cookie: rmapd_session=rml_fuzz_bob\n"
ROOT = "Authorization: Bearer rmt_fuzz_root\n"


def seeds_http_auth(src):
    """--auth inputs: who may do what, by token, cookie and share link."""
    s = "/api/v1/sessions/1"
    for name, config, ops in lessons(src):
        yield "auth-" + name, "--auth\n" + http_input([
            request("POST", "/api/v1/sessions", {"name": name, "scenario": name}, ALICE),
            request("GET", s + "?view=summary", caller=BOB),
            request("POST", s + "/ops", {"op": "spawn"}, ALICE_READ),
            request("POST", s + "/ops", {"op": "spawn"}, ALICE),
            request("POST", s + "/shares", {}, ALICE),
            request("GET", s + "?share=rms_fuzz_unknown"),
            request("GET", "/api/v1/sessions", caller=ROOT),
            request("GET", "/api/v1/me", caller=BOB),
        ])
    yield "auth-login-logout", "--auth\n" + http_input([
        request("POST", "/api/v1/sessions", {"name": "b"}, BOB),
        request("POST", s + "/visibility", {"visibility": "private"}, BOB),
        request("GET", s, caller=ALICE),
        request("POST", "/api/v1/logout", {}, BOB),
        request("GET", "/api/v1/sessions", caller="Authorization: Basic x\n"),
        request("DELETE", s, caller=ROOT),
    ])


def seeds_http_all(src, dump_tool):
    yield from seeds_http(src, dump_tool)
    yield from seeds_http_auth(src)


SEEDS = {"ops": seeds_ops, "snapshot": seeds_snapshot, "http": seeds_http_all}


def write_seeds(harness, src, dump_tool, out):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    n = 0
    for name, text in SEEDS[harness](src, dump_tool):
        with open(os.path.join(out, name), "w") as f:
            f.write(text)
        n += 1
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("harness", choices=sorted(SEEDS))
    ap.add_argument("--build", required=True)
    ap.add_argument("--work")
    ap.add_argument("--seconds", type=int)
    ap.add_argument("--runs", type=int)
    ap.add_argument("--corpus")
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    a = ap.parse_args(argv[:len(argv) - len(extra) - bool(extra)])
    src = os.path.dirname(os.path.dirname(HERE))
    bindir = os.path.join(a.build, "tests", "fuzz")
    binary = os.path.join(bindir, "fuzz_" + a.harness)
    a.work = a.work or os.path.join(bindir, "work-" + a.harness)

    os.makedirs(a.work, exist_ok=True)
    seeds = os.path.join(a.work, "seeds")
    n = write_seeds(a.harness, src, os.path.join(bindir, "seed_dump"), seeds)
    regress = os.path.join(HERE, "regress", a.harness)
    known = sorted(glob.glob(os.path.join(seeds, "*")) +
                   glob.glob(os.path.join(regress, "*")))
    print("%s: %d seeds, %d regression inputs" % (a.harness, n, len(known) - n),
          flush=True)
    # UBSan reports and goes on unless told to stop: a build without ASan
    # (the long run's, see the README "Fuzzing") would count no crash
    env = dict(os.environ)
    env["UBSAN_OPTIONS"] = env.get("UBSAN_OPTIONS",
                                   "halt_on_error=1:print_stacktrace=1")
    # each seed and regression input once, alone: a crash names its file
    rc = subprocess.call([binary] + known, env=env)
    if rc:
        print("%s: a seed or regression input fails (exit %d)" % (a.harness, rc))
        return 1
    corpus = a.corpus
    if not corpus:
        corpus = os.path.join(a.work, "corpus")
        shutil.rmtree(corpus, ignore_errors=True)
    os.makedirs(corpus, exist_ok=True)
    args = [binary, corpus, seeds, "-artifact_prefix=" + a.work + "/",
            "-dict=" + os.path.join(HERE, a.harness + ".dict"),
            "-max_len=8192", "-timeout=20", "-print_final_stats=1",
            # the entropic schedule's bookkeeping (a sorted insert per
            # feature an input touches) took 76% of fuzz_ops' time, with
            # the tens of thousands of features the engine's code has
            "-entropic=0"]
    if a.runs is not None:
        args.append("-runs=%d" % a.runs)
    if a.seconds is not None:
        args.append("-max_total_time=%d" % a.seconds)
    # no allocation stacks: recording one per malloc was a third of the
    # time; run a crash input alone (without run.py) to see them
    env["ASAN_OPTIONS"] = ":".join(filter(None, [
        env.get("ASAN_OPTIONS"), "malloc_context_size=0"]))
    rc = subprocess.call(args + extra, env=env)
    if rc:
        print("%s: the harness found a failure (exit %d); the input is in %s"
              % (a.harness, rc, a.work))
    return 1 if rc else 0


if __name__ == "__main__":
    sys.exit(main())
