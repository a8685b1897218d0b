#!/usr/bin/env python3
"""Bytes per idle connection, structured over TCP (chat://) against structured over WebSocket
(http:// /ws), a fresh server for every run.

Each run starts `sockchat serve` with both listeners, reads its RSS, opens N structured connections
to one of them (hello, wait for the welcome, then stay silent), waits for the server to settle, reads
its RSS again, and reports the growth divided by N. The WebSocket handshake and frames are written by
hand (a client's frames are masked, RFC 6455). Runs alternate; medians are printed as Markdown.

Usage: bench/idle_ws.py [--clients N] [--runs N]      (build first: cargo build --release)
"""
import argparse
import base64
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# SOCKCHAT_BIN runs another build (to compare two) from the same script.
SOCKCHAT = os.environ.get("SOCKCHAT_BIN", os.path.join(HERE, "..", "target", "release", "sockchat"))
HELLO = b'{"type":"hello","version":1}'


def rss(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def start(log):
    # The log goes to a file: a pipe nobody reads would fill and stall the server.
    server = subprocess.Popen(
        [SOCKCHAT, "serve", "--no-console", "--ephemeral", "--listen", "127.0.0.1:0",
         "--listen", "http://127.0.0.1:0", "--max-connections", "20000"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    ports = {}
    deadline = time.time() + 10
    while len(ports) < 2 and time.time() < deadline:
        time.sleep(0.05)
        with open(log.name) as text:
            for found in re.finditer(r"listening on (http://)?127\.0\.0\.1:(\d+)", text.read()):
                ports["ws" if found.group(1) else "chat"] = int(found.group(2))
    if len(ports) < 2:
        server.kill()
        raise RuntimeError("the server did not start")
    return server, ports


def masked_text_frame(payload):
    mask = os.urandom(4)
    assert len(payload) < 126
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + body


def upgrade(sock, port):
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                 f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                 .encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError("closed during the upgrade")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(head.decode(errors="replace"))
    return head.split(b"\r\n\r\n", 1)[1]


def welcomed(sock, seen):
    while b'"welcome"' not in seen:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("closed before the welcome")
        seen += chunk


def run(mode, clients):
    with tempfile.NamedTemporaryFile("w", suffix=".log") as log:
        server, ports = start(log)
        try:
            time.sleep(0.5)
            before = rss(server.pid)
            held = []
            for _ in range(clients):
                sock = socket.create_connection(("127.0.0.1", ports[mode]))
                sock.settimeout(20)
                if mode == "ws":
                    rest = upgrade(sock, ports[mode])
                    sock.sendall(masked_text_frame(HELLO))
                else:
                    rest = b""
                    sock.sendall(HELLO + b"\n")
                welcomed(sock, rest)
                held.append(sock)
            time.sleep(2)
            after = rss(server.pid)
            for sock in held:
                sock.close()
            return (after - before) / clients
        finally:
            server.terminate()
            server.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = {"chat": [], "ws": []}
    for _ in range(args.runs):
        for mode in results:
            results[mode].append(run(mode, args.clients))
            print(f"{mode}: {results[mode][-1]:.0f} bytes per idle connection", file=sys.stderr)
    print("| connection | idle connections | bytes per idle connection (median) | runs |")
    print("|---|---|---|---|")
    names = {"chat": "structured over TCP (chat://)", "ws": "structured over WebSocket (http:// /ws)"}
    for mode, values in results.items():
        runs = ", ".join(f"{v:.0f}" for v in values)
        print(f"| {names[mode]} | {args.clients} | {statistics.median(values):.0f} | {runs} |")


if __name__ == "__main__":
    main()
