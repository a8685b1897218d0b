#!/usr/bin/env python3
"""Hostile clients against a sockchat server with its default flags: how much memory the server takes
(its peak RSS) and how long an innocent client's messages take to reach another (p50 and p99) while
the attack goes on. Every attack is bounded in count and time; all traffic stays on loopback.

Usage: bench/attacks.py [--binary PATH]... [--only NAME,...]
Each binary (default: target/release/sockchat) gets a fresh server per attack; give two to compare
a build before and after a change in one run.
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BINARY = os.path.join(HERE, "..", "target", "release", "sockchat")
ATTACK_SECONDS = 8


def start_server(binary):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([binary, "serve", "--no-console", "--listen", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("the server did not start")


def peak_rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return float("nan")
    return float("nan")


def plain(port, nick, room=None):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(f"/nick {nick}\n".encode() + (f"/join {room}\n".encode() if room else b""))
    return sock


def read_until(sock, marker, seconds=10):
    sock.settimeout(seconds)
    got = b""
    while marker not in got:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        got += chunk
    return got


class Innocent:
    """Two people in a quiet room: one says a stamped line every 150 ms (inside the default flood budget),
    the other times each arrival."""

    def __init__(self, port):
        self.hearer = plain(port, "hearer", "quiet")
        read_until(self.hearer, b"hearer joined quiet")
        self.speaker = plain(port, "speaker", "quiet")
        read_until(self.hearer, b"speaker joined quiet")
        self.latencies = []
        self.said = 0
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.speak), threading.Thread(target=self.hear)]

    def speak(self):
        while not self.stop.is_set():
            self.speaker.sendall(f"stamp {time.monotonic_ns()} {self.said}\n".encode())
            self.said += 1
            time.sleep(0.15)

    def hear(self):
        self.hearer.settimeout(0.5)
        buf = b""
        while not self.stop.is_set() or buf:
            try:
                chunk = self.hearer.recv(65536)
            except socket.timeout:
                if self.stop.is_set():
                    break
                continue
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            *lines, buf = buf.split(b"\n")
            now = time.monotonic_ns()
            for line in lines:
                parts = line.split()
                if len(parts) >= 3 and parts[-3] == b"stamp":
                    self.latencies.append((now - int(parts[-2])) / 1e6)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        time.sleep(0.5)
        self.stop.set()
        for t in self.threads:
            t.join(5)

    def summary(self):
        lat = sorted(self.latencies)
        if not lat:
            return "nothing arrived"
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        return f"{len(lat)}/{self.said} arrived, p50 {statistics.median(lat):.1f} ms, p99 {p99:.1f} ms"


def flood(port):
    """One plain client writing lines as fast as its socket takes them."""
    sock = plain(port, "flooder")
    line = b"flood flood flood flood flood flood flood flood\n" * 1000
    end = time.time() + ATTACK_SECONDS
    sock.settimeout(0.2)
    sent = 0
    while time.time() < end:
        try:
            sent += sock.send(line)
        except socket.timeout:
            pass
    return [sock], f"flooder wrote {sent / 1e6:.0f} MB"


def rooms_amplification(port):
    """2,000 rooms with 512-byte topics, then a client that asks for the list 10,000 times and never reads."""
    makers = []
    for i in range(125):
        sock = plain(port, f"maker{i}")
        script = b"".join(f"/join r{i}x{j}\n/topic {'t' * 500}\n".encode() for j in range(16))
        sock.sendall(script)
        makers.append(sock)
    time.sleep(3)
    deaf = socket.create_connection(("127.0.0.1", port))
    deaf.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    deaf.settimeout(ATTACK_SECONDS)
    sent = 0
    requests = b"/rooms\n" * 10_000
    try:
        while sent < len(requests):
            sent += deaf.send(requests[sent:])
    except (socket.timeout, OSError):
        pass
    return makers + [deaf], f"the deaf client got {sent // 7} of 10,000 /rooms into the server's socket"


def unfinished_frames(port):
    """300 structured clients, each sending 6 MB of a frame that never ends."""
    socks = []
    chunk = b"x" * 65536
    end = time.time() + ATTACK_SECONDS
    for _ in range(300):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b'{"type":"hello","version":1}\n{"type":"say","text":"')
        sock.setblocking(False)
        socks.append([sock, 0])
    while time.time() < end and any(sent < 6_000_000 for _, sent in socks):
        for entry in socks:
            if entry[1] >= 6_000_000:
                continue
            try:
                entry[1] += entry[0].send(chunk)
            except (BlockingIOError, OSError):
                pass
    total = sum(sent for _, sent in socks)
    return [s for s, _ in socks], f"the clients got {total / 1e6:.0f} MB of unfinished frames into the server"


ATTACKS = {"flood": flood, "rooms": rooms_amplification, "unfinished": unfinished_frames}


def run(binary, name):
    proc, port = start_server(binary)
    try:
        with Innocent(port) as innocent:
            time.sleep(0.5)
            held, what = ATTACKS[name](port)
            time.sleep(1)
        rss = peak_rss_mib(proc.pid)
        alive = proc.poll() is None
        for sock in held:
            sock.close()
        return f"| {name} | {os.path.basename(os.path.dirname(binary)) or binary} | {rss:.0f} | {innocent.summary()} | {'yes' if alive else 'no: it died'} | {what} |"
    finally:
        proc.kill()
        proc.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", action="append")
    parser.add_argument("--only")
    args = parser.parse_args()
    binaries = args.binary or [DEFAULT_BINARY]
    names = args.only.split(",") if args.only else list(ATTACKS)
    print("| attack | server | peak RSS (MiB) | innocent client | server alive | attacker |")
    print("|---|---|---|---|---|---|")
    for name in names:
        for binary in binaries:
            print(run(binary, name), flush=True)


if __name__ == "__main__":
    sys.exit(main())
