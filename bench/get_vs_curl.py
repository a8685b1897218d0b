#!/usr/bin/env python3
"""Download SIZE bytes from a loopback raw-socket server with `sockchat get` and with curl, alternating,
RUNS times each; print wall time, throughput and peak RSS per run and the medians.

Peak RSS comes from GNU time (Debian package `time`): a child's own wait4 figure would include the
Python image it was forked from.

The server is pinned to CPU 0 and the clients to CPU 1 (taskset), so that the two do not trade cores
from run to run; with --no-pin they float.

Usage: bench/get_vs_curl.py [--runs N] [--size BYTES] [--sockchat PATH] [--no-pin]
Build first: cargo build --release
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def measure(argv):
    """Runs argv with stdout to /dev/null; returns (seconds, peak RSS in KiB, exit code)."""
    with open(os.devnull, "wb") as devnull:
        start = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], stdout=devnull, stderr=subprocess.PIPE, text=True)
        elapsed = time.perf_counter() - start
    rss_kib = int(proc.stderr.strip().splitlines()[-1])
    return elapsed, rss_kib, proc.returncode


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--size", type=int, default=1 << 30)
    parser.add_argument("--sockchat", default=os.path.join(HERE, "..", "target", "release", "sockchat"))
    parser.add_argument("--no-pin", action="store_true")
    args = parser.parse_args()
    pin_server = [] if args.no_pin else ["taskset", "-c", "0"]
    pin_client = [] if args.no_pin else ["taskset", "-c", "1"]

    server = subprocess.Popen([*pin_server, sys.executable, os.path.join(HERE, "serve_bytes.py"), str(args.size)], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        url = f"http://127.0.0.1:{port}/blob"
        clients = {
            "sockchat get": [*pin_client, args.sockchat, "get", "-s", url],
            "curl": [*pin_client, "curl", "-s", url],
        }
        results = {name: [] for name in clients}
        for run in range(args.runs):
            for name, argv in clients.items():
                seconds, rss_kib, code = measure(argv)
                if code != 0:
                    sys.exit(f"{name} exited {code}")
                gbps = args.size / seconds / 1e9
                results[name].append((seconds, gbps, rss_kib))
                print(f"run {run + 1} {name:13} {seconds:7.3f} s {gbps:6.2f} GB/s  peak RSS {rss_kib / 1024:6.1f} MiB", flush=True)
        print()
        print(f"| client | median time | median throughput | median peak RSS |")
        print(f"|---|---|---|---|")
        medians = {}
        for name, rows in results.items():
            t = statistics.median(r[0] for r in rows)
            g = statistics.median(r[1] for r in rows)
            m = statistics.median(r[2] for r in rows) / 1024
            medians[name] = (t, g, m)
            print(f"| {name} | {t:.3f} s | {g:.2f} GB/s | {m:.1f} MiB |")
        s, c = medians["sockchat get"], medians["curl"]
        print(f"\nsockchat get / curl: throughput x{s[1] / c[1]:.2f}, peak RSS x{s[2] / c[2]:.2f}")
    finally:
        server.kill()


if __name__ == "__main__":
    main()
