#!/usr/bin/env python3
"""What the open-internet limits cost: S1 (a burst in a room of 100) and S3i (10,000 connections, 100
in the room) against several sockchat builds and flag sets, alternating run by run, medians printed as
Markdown. A fresh server for every run; loopback only; every run bounded by the load generator's
timeouts.

Usage: bench/limits_cost.py --runs 3 \\
         --server "before=/path/to/old/sockchat" \\
         --server "relaxed=target/release/sockchat --flood-control off --limits-exempt all" \\
         --server "defaults=target/release/sockchat"
The load generator is target/release/sockchat's `bench` for every server.
"""
import argparse
import json
import os
import shlex
import socket
import statistics
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.join(HERE, "..", "target", "release", "sockchat")
SCENARIOS = {
    "S1": ["-c", "100", "-s", "10", "-m", "1000", "-p", "64"],
    "S3i": ["-c", "10000", "--members", "100", "-s", "10", "-m", "100", "-p", "64",
            "--join-timeout", "40", "--run-timeout", "30"],
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_listening(port, seconds=10):
    """Polls until a server accepts on the port (a bounded wait, as the load generator's are)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)


def run_once(argv, scenario):
    port = free_port()
    proc = subprocess.Popen([argv[0], "serve", "--no-console", "--listen", f"127.0.0.1:{port}", *argv[1:]],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_listening(port)
        out = subprocess.run([BENCH, "bench", f"127.0.0.1:{port}", "--pid", str(proc.pid), "--json",
                              *SCENARIOS[scenario]], capture_output=True, text=True, timeout=120)
        return json.loads(out.stdout)
    finally:
        proc.kill()
        proc.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--server", action="append", required=True, help="NAME=BINARY [FLAGS]")
    parser.add_argument("--scenarios", default="S1,S3i")
    args = parser.parse_args()
    servers = [(spec.split("=", 1)[0], shlex.split(spec.split("=", 1)[1])) for spec in args.server]
    results = {}
    for scenario in args.scenarios.split(","):
        for _ in range(args.runs):
            for name, argv in servers:
                results.setdefault((scenario, name), []).append(run_once(argv, scenario))
    print("| scenario | server | runs | delivered | deliveries/s (median) | p99 ms (median) | bytes/idle conn (median) |")
    print("|---|---|---|---|---|---|---|")
    for (scenario, name), reports in results.items():
        rate = statistics.median(r["deliveries_per_second"] for r in reports)
        p99 = statistics.median(r["latency_ms"]["p99"] for r in reports)
        per_conn = statistics.median(r["server"]["bytes_per_connection"] for r in reports)
        got = min(r["counts"]["received"] for r in reports)
        print(f"| {scenario} | {name} | {len(reports)} | {got}/{reports[0]['expected']} | "
              f"{rate / 1e6:.2f}M | {p99:.1f} | {per_conn:.0f} |")


if __name__ == "__main__":
    main()
