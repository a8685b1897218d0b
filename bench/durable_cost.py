#!/usr/bin/env python3
"""What durable state costs the server: the same load against `serve --ephemeral` (the store in memory)
and `serve --db FILE` (a fresh file each run), alternating run by run, medians printed as Markdown.

Scenarios: P (10 senders pipelining 20,000 messages each into the room they share: persisted and
acknowledged messages per second), S1 and S2 as in docs/BENCHMARKS.md. Flood control and the per-IP
limits are off, as in the other server benchmarks. A fresh server for every run; loopback only; every
run bounded by the load generator's timeouts. For --db runs, the file and its WAL are weighed after the
server has stopped.

Usage: bench/durable_cost.py [--runs 3] [--scenarios P,S1,S2] [--binary target/release/sockchat]
                             [--before /path/to/older/sockchat]
With --before, another build runs alongside: one from before the store (it takes no store flags) as
"before"; one with a store (main's, say) as "before ephemeral" and "before db", so a change to the
store is measured against the build it changes, run by run.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

from limits_cost import free_port, wait_until_listening

HERE = os.path.dirname(os.path.abspath(__file__))
BINARY = os.path.join(HERE, "..", "target", "release", "sockchat")
RELAXED = ["--flood-control", "off", "--limits-exempt", "all"]
SCENARIOS = {
    "P": ["-c", "10", "-s", "10", "-m", "20000", "-p", "64"],
    "S1": ["-c", "100", "-s", "10", "-m", "1000", "-p", "64"],
    "S2": ["-c", "1000", "-s", "1", "-m", "2000", "-p", "64", "-r", "500"],
}


def has_store(binary):
    """Whether a build keeps state (takes --ephemeral and --db), or is from before the store."""
    help_text = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True, timeout=30).stdout
    return "--ephemeral" in help_text


def run_once(binary, mode, scenario, workdir):
    port = free_port()
    db = os.path.join(workdir, f"run-{time.time_ns()}.db")
    store = {"ephemeral": ["--ephemeral"], "db": ["--db", db], "none": []}[mode.split()[-1]]
    proc = subprocess.Popen([binary, "serve", "--no-console", "--listen", f"127.0.0.1:{port}", *store, *RELAXED],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_listening(port)
        out = subprocess.run([binary, "bench", f"127.0.0.1:{port}", "--pid", str(proc.pid), "--json",
                              *SCENARIOS[scenario]], capture_output=True, text=True, timeout=180)
        report = json.loads(out.stdout)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    sent = report["senders"] * report["messages_per_sender"]
    report["messages_per_second"] = sent / report["deliver_seconds"]
    if mode.endswith("db"):
        size = sum(os.path.getsize(db + suffix) for suffix in ("", "-wal") if os.path.exists(db + suffix))
        report["disk_bytes_per_message"] = size / sent
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
    return report


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenarios", default="P,S1,S2")
    parser.add_argument("--binary", default=BINARY)
    parser.add_argument("--before", help="a sockchat built before the store, run alongside")
    args = parser.parse_args()
    modes = [("ephemeral", args.binary), ("db", args.binary)]
    if args.before and has_store(args.before):
        modes = [("before ephemeral", args.before), ("ephemeral", args.binary),
                 ("before db", args.before), ("db", args.binary)]
    elif args.before:
        modes.insert(0, ("before none", args.before))
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        for scenario in args.scenarios.split(","):
            for _ in range(args.runs):
                for mode, binary in modes:
                    results.setdefault((scenario, mode), []).append(run_once(binary, mode, scenario, workdir))
    print("| scenario | store | runs | delivered | messages/s (median) | deliveries/s (median) | p99 ms (median) "
          "| server CPU s (median) | disk bytes/message |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (scenario, mode), reports in results.items():
        median = lambda f: statistics.median(f(r) for r in reports)
        got = min(r["counts"]["received"] for r in reports)
        disk = f"{median(lambda r: r['disk_bytes_per_message']):.0f}" if mode.endswith("db") else "-"
        print(f"| {scenario} | {mode.removesuffix(' none')} | {len(reports)} | {got}/{reports[0]['expected']} "
              f"| {median(lambda r: r['messages_per_second']):,.0f} "
              f"| {median(lambda r: r['deliveries_per_second']) / 1e6:.2f}M "
              f"| {median(lambda r: r['latency_ms']['p99']):.1f} "
              f"| {median(lambda r: r['server']['cpu_seconds']):.2f} | {disk} |")


if __name__ == "__main__":
    main()
