#!/usr/bin/env python3
"""Interleaved rounds of bare_mhd in several modes (each SPEC is
BINARY[:ARGS], ARGS as bare_mhd takes them after the port, e.g.
"build-rel/tests/bench/bare_mhd:8 tpc-held"), wrk with 64 connections
POSTing run.py's body; prints each one's median req/s, CPU per request
and p99.  For the hand-off's floor and its alternatives.

    python3 tests/bench/ab_bare.py ROUNDS SECONDS SPEC...
"""
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon import Server, free_port  # noqa: E402
import run  # noqa: E402


class Bare(Server):
    def __init__(self, binary, args):
        self.port = free_port()
        super().__init__([binary, str(self.port)] + args,
                         tempfile.mkdtemp(prefix="ab-bare-"), probe="/")


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    rounds, secs = int(sys.argv[1]), int(sys.argv[2])
    servers = []
    try:
        for spec in sys.argv[3:]:
            binary, _, args = spec.partition(":")
            servers.append((spec, Bare(binary, args.split()), []))
        for r in range(rounds):
            k = r % len(servers)
            for spec, s, got in servers[k:] + servers[:k]:
                got.append(run.wrk(s.port, ["/"], "POST", run.POST_BODY,
                                   secs, 64, s))
        for spec, s, got in servers:
            print("%-50s %8.0f req/s  %5.1f µs CPU  p99 %6.2f ms"
                  % (spec[-50:], statistics.median(g["rps"] for g in got),
                     statistics.median(g["cpu_us"] for g in got),
                     statistics.median(g["p99"] for g in got)))
    finally:
        for spec, s, got in servers:
            s.stop()


if __name__ == "__main__":
    main()
