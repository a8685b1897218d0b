#!/usr/bin/env python3
"""Run the chat scenarios against sockchat and its peers in one go, with `sockchat bench`, a fresh
server for every run, and print medians as Markdown.

Peers (install them first; Debian packages): ngircd, inspircd, ncat. Their configs, with flood limits
removed, are in bench/peers/. The servers listen on loopback only.

tokio's chat example (examples/chat.rs in the tokio repository; no package ships it) joins when
TOKIO_CHAT names a release build of it: the server takes its address as its only argument.

Usage: bench/chat_peers.py [--runs N] [--peer-runs-big N] [--only NAME,...] [--scenarios S1,S2,...]
                           [--sockchat-args "--write-interval-ms 0"]
Build first: cargo build --release
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOCKCHAT = os.path.join(HERE, "..", "target", "release", "sockchat")

SCENARIOS = {
    "S1": ["-c", "100", "-s", "10", "-m", "1000", "-p", "64"],
    "S2": ["-c", "1000", "-s", "1", "-m", "2000", "-p", "64", "-r", "500"],
    "S3": ["-c", "10000", "-s", "10", "-m", "100", "-p", "64", "--join-timeout", "40", "--run-timeout", "30"],
    "S3i": ["-c", "10000", "--members", "100", "-s", "10", "-m", "100", "-p", "64", "--join-timeout", "40", "--run-timeout", "30"],
}
BIG = {"S3", "S3i"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def servers(sockchat_args=()):
    """name -> (how to start it, bench protocol arguments); a start function returns (process, port)."""

    def sockchat(extra, scheme=""):
        def start():
            port = free_port()
            # A fresh working directory, so every run starts with an empty store of its own.
            folder = tempfile.mkdtemp(prefix="sockchat-bench-")
            argv = [SOCKCHAT, "serve", "--no-console", "--listen", f"{scheme}127.0.0.1:{port}", *extra]
            proc = subprocess.Popen(argv, stderr=subprocess.DEVNULL, cwd=folder)
            proc.folder = folder
            return proc, port
        return start

    def fixed(argv, port):
        def start():
            return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), port
        return start

    found = {
        "sockchat": (sockchat(sockchat_args), ["--proto", "structured"]),
        "sockchat-plain": (sockchat(sockchat_args), ["--proto", "plain", "--plain-ready", "welcome to sockchat"]),
        "sockchat-irc": (sockchat(sockchat_args, "irc://"), ["--proto", "irc"]),
        "ngircd": (fixed(["ngircd", "-n", "-f", os.path.join(HERE, "peers", "ngircd.conf")], 16667), ["--proto", "irc"]),
        "inspircd": (fixed(["inspircd", "--nofork", "--runasroot", "--config=" + os.path.join(HERE, "peers", "inspircd.conf")], 16668), ["--proto", "irc"]),
        # ncat says nothing when a client is in: give it a second to accept everyone before sending.
        "ncat": (fixed(["ncat", "--chat", "-l", "127.0.0.1", "16669", "--max-conns", "20000"], 16669), ["--proto", "plain", "--settle", "1"]),
    }
    if os.environ.get("TOKIO_CHAT"):
        # It asks each client for a username first and says nothing when one is in.
        found["tokio-chat"] = (fixed([os.environ["TOKIO_CHAT"], "127.0.0.1:16670"], 16670), ["--proto", "plain", "--plain-hello", "b{i}", "--settle", "1"])
    return found


def wait_listening(port, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


def run_once(start, proto_args, scenario):
    proc, port = start()
    try:
        if not wait_listening(port):
            return None
        time.sleep(0.2)  # let the server finish starting after it accepts
        argv = [SOCKCHAT, "bench", f"127.0.0.1:{port}", *SCENARIOS[scenario], *proto_args, "--json", "--pid", str(proc.pid)]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=180)
        if out.returncode != 0:
            print(f"  bench failed: {out.stderr.strip()}", file=sys.stderr)
            return None
        return json.loads(out.stdout)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if hasattr(proc, "folder"):
            shutil.rmtree(proc.folder, ignore_errors=True)


def summary(reports):
    def med(f):
        values = [f(r) for r in reports]
        return statistics.median(values)
    s = reports[0]["server"] is not None
    return {
        "runs": len(reports),
        "joined": med(lambda r: r["joined"]),
        "connect_join_s": med(lambda r: r["connect_join_seconds"]),
        "expected": med(lambda r: r["expected"]),
        "received": med(lambda r: r["counts"]["received"]),
        "loss_pct": med(lambda r: 100.0 * r["lost"] / r["expected"] if r["expected"] else 0.0),
        "dup": med(lambda r: r["counts"]["duplicates"]),
        "ooo": med(lambda r: r["counts"]["out_of_order"]),
        "deliveries_per_s": med(lambda r: r["deliveries_per_second"]),
        "p50_ms": med(lambda r: r["latency_ms"]["p50"]),
        "p99_ms": med(lambda r: r["latency_ms"]["p99"]),
        "cpu_s": med(lambda r: r["server"]["cpu_seconds"]) if s else None,
        "bytes_per_conn": med(lambda r: r["server"]["bytes_per_connection"]) if s else None,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--peer-runs-big", type=int, default=1, help="runs of S3 and S3i for the peers (each can take a minute)")
    parser.add_argument("--only", default="")
    parser.add_argument("--scenarios", default="S1,S2,S3,S3i")
    parser.add_argument("--sockchat-args", default="", help="extra arguments for `sockchat serve`, e.g. \"--write-interval-ms 0\"")
    args = parser.parse_args()
    known = servers(args.sockchat_args.split())
    chosen = [s for s in args.only.split(",") if s] or list(known)
    table = {}
    for scenario in args.scenarios.split(","):
        for name in chosen:
            if name == "sockchat-plain" and scenario != "S1":
                continue
            start, proto_args = known[name]
            runs = args.runs if (scenario not in BIG or name.startswith("sockchat")) else args.peer_runs_big
            reports = []
            for _ in range(runs):
                report = run_once(start, proto_args, scenario)
                if report:
                    reports.append(report)
                    print(f"{scenario} {name}: {json.dumps(summary([report]))}", flush=True)
            if reports:
                table[(scenario, name)] = summary(reports)
    print()
    print("| scenario | server | runs | joined | connect+join s | received/expected | loss % | dup | out of order | deliveries/s | p50 ms | p99 ms | server CPU s | bytes/conn |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (scenario, name), m in table.items():
        cpu = "-" if m["cpu_s"] is None else f"{m['cpu_s']:.2f}"
        mem = "-" if m["bytes_per_conn"] is None else f"{m['bytes_per_conn']:.0f}"
        print(f"| {scenario} | {name} | {m['runs']} | {m['joined']:.0f} | {m['connect_join_s']:.2f} | {m['received']:.0f}/{m['expected']:.0f} | {m['loss_pct']:.2f} | {m['dup']:.0f} | {m['ooo']:.0f} | {m['deliveries_per_s']/1e6:.2f}M | {m['p50_ms']:.1f} | {m['p99_ms']:.1f} | {cpu} | {mem} |")


if __name__ == "__main__":
    main()
