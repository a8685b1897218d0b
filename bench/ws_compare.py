#!/usr/bin/env python3
"""WebSocket against TCP, and sockchat against a Node.js broadcast server on the `ws` package, side by
side in one run: S1 (100 clients, 10 senders x 1000, burst) and S3 (10,000 clients in one room, 10
senders x 100), each target in turn run by run, medians printed as Markdown. A fresh server for every
run (flood control off, as the other load runs); loopback only; every run bounded by the load
generator's timeouts.

Targets: sockchat's structured mode over TCP (`--proto structured` at a chat listener), over a
WebSocket (`--proto ws` at an http listener's /ws), and bench/peers/node-ws/broadcast.js
(`--proto ws`; `npm install` in that folder first, with Debian's nodejs).

Usage: bench/ws_compare.py [--runs 3] [--scenarios S1,S3]   (build first: cargo build --release)
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# SOCKCHAT_BIN runs another build (to compare two) from the same script.
SOCKCHAT = os.environ.get("SOCKCHAT_BIN", os.path.join(HERE, "..", "target", "release", "sockchat"))
NODE_SERVER = os.path.join(HERE, "peers", "node-ws", "broadcast.js")
SCENARIOS = {
    "S1": ["-c", "100", "-s", "10", "-m", "1000", "-p", "64"],
    "S3": ["-c", "10000", "-s", "10", "-m", "100", "-p", "64", "--join-timeout", "60", "--run-timeout", "60"],
}
TARGETS = {
    "sockchat tcp": "structured",
    "sockchat ws": "ws",
    "node ws": "ws",
}


def start(target, log):
    if target == "node ws":
        argv = ["node", NODE_SERVER, "0"]
        pattern = r"listening on ws://127\.0\.0\.1:(\d+)"
    else:
        argv = [SOCKCHAT, "serve", "--no-console", "--ephemeral", "--flood-control", "off",
                "--max-connections", "20000", "--listen", "127.0.0.1:0", "--listen", "http://127.0.0.1:0"]
        pattern = r"listening on http://127\.0\.0\.1:(\d+)" if target == "sockchat ws" \
            else r"listening on 127\.0\.0\.1:(\d+)"
    # The log goes to a file: a pipe nobody reads would fill and stall the server.
    server = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    deadline = time.time() + 10
    while time.time() < deadline:
        time.sleep(0.05)
        with open(log.name) as text:
            found = re.search(pattern, text.read())
        if found:
            return server, int(found.group(1))
    server.kill()
    raise RuntimeError(f"{target} did not start")


def run_once(target, scenario):
    with tempfile.NamedTemporaryFile("w", suffix=".log") as log:
        server, port = start(target, log)
        try:
            out = subprocess.run([SOCKCHAT, "bench", f"127.0.0.1:{port}", "--proto", TARGETS[target],
                                  "--pid", str(server.pid), "--json", *SCENARIOS[scenario]],
                                 capture_output=True, text=True, timeout=300)
            return json.loads(out.stdout)
        finally:
            server.kill()
            server.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenarios", default="S1,S3")
    parser.add_argument("--targets", default=",".join(TARGETS), help="comma-separated, of: " + ", ".join(TARGETS))
    args = parser.parse_args()
    results = {}
    for scenario in args.scenarios.split(","):
        for _ in range(args.runs):
            for target in args.targets.split(","):
                report = run_once(target, scenario)
                results.setdefault((scenario, target), []).append(report)
                print(f"{scenario} {target}: {report['deliveries_per_second'] / 1e6:.2f}M/s, "
                      f"{report['counts']['received']}/{report['expected']}", flush=True)
    print("| scenario | target | runs | delivered (worst) | deliveries/s (median) | p99 ms (median) | server CPU s (median) |")
    print("|---|---|---|---|---|---|---|")
    for (scenario, target), reports in results.items():
        rate = statistics.median(r["deliveries_per_second"] for r in reports)
        p99 = statistics.median(r["latency_ms"]["p99"] for r in reports)
        cpu = statistics.median((r["server"] or {}).get("cpu_seconds", float("nan")) for r in reports)
        got = min(r["counts"]["received"] for r in reports)
        print(f"| {scenario} | {target} | {len(reports)} | {got}/{reports[0]['expected']} | "
              f"{rate / 1e6:.2f}M | {p99:.1f} | {cpu:.2f} |")


if __name__ == "__main__":
    main()
