#!/usr/bin/env python3
"""Bytes per idle connection, by kind of connection, a fresh server for every run.

Each run starts `sockchat serve` with every listener the kinds need (and a throwaway self-signed pair
made with openssl when TLS is among them), reads its RSS, opens N connections of one kind, brings each
to the point where a real client would sit and wait (structured: hello and its welcome; IRC:
registration up to the end of the MOTD), waits for the server to settle, reads its RSS again, and
reports the growth divided by N. Runs alternate between the kinds; medians are printed as Markdown.

Kinds: chat (structured over TCP), chats (structured over TLS), ws (structured over WebSocket),
irc (IRC over TCP). The WebSocket handshake and frames are written by hand (a client's frames are
masked, RFC 6455).

Usage: bench/idle_bytes.py [--kinds chat,irc] [--clients N] [--runs N]   (build: cargo build --release)
"""
import argparse
import base64
import os
import re
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# SOCKCHAT_BIN runs another build (to compare two) from the same script.
SOCKCHAT = os.environ.get("SOCKCHAT_BIN", os.path.join(HERE, "..", "target", "release", "sockchat"))
HELLO = b'{"type":"hello","version":1}'
SCHEMES = {"chat": "", "chats": "chats://", "ws": "http://", "irc": "irc://"}
NAMES = {
    "chat": "structured over TCP (chat://)",
    "chats": "structured over TLS (chats://)",
    "ws": "structured over WebSocket (http:// /ws)",
    "irc": "IRC over TCP (irc://)",
}


def rss(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def make_pair(folder):
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-addext", "basicConstraints=critical,CA:FALSE"],
        check=True, capture_output=True)
    return cert, key


def start(kind, tls, log):
    # The log goes to a file: a pipe nobody reads would fill and stall the server.
    command = [SOCKCHAT, "serve", "--no-console", "--ephemeral", "--max-connections", "20000",
               "--listen", f"{SCHEMES[kind]}127.0.0.1:0"]
    if tls:
        command += ["--tls-cert", tls[0], "--tls-key", tls[1]]
    server = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.time() + 10
    while time.time() < deadline:
        time.sleep(0.05)
        with open(log.name) as text:
            found = re.search(r"listening on (?:[a-z]+://)?127\.0\.0\.1:(\d+)", text.read())
        if found:
            return server, int(found.group(1))
    server.kill()
    raise RuntimeError("the server did not start")


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
    head = read_until(sock, b"\r\n\r\n", b"")
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(head.decode(errors="replace"))
    return head.split(b"\r\n\r\n", 1)[1]


def read_until(sock, marker, seen):
    while marker not in seen:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError(f"closed before {marker!r}")
        seen += chunk
    return seen


def settle(kind, sock, port, number):
    """Brings one connection to where a client waits."""
    if kind == "ws":
        rest = upgrade(sock, port)
        sock.sendall(masked_text_frame(HELLO))
        read_until(sock, b'"welcome"', rest)
    elif kind == "irc":
        sock.sendall(f"NICK idle{number}\r\nUSER idle 0 * :idle\r\n".encode())
        seen = b""
        while not re.search(rb" (376|422) ", seen):
            chunk = sock.recv(65536)
            if not chunk:
                raise RuntimeError("closed before the end of the MOTD")
            seen += chunk
    else:
        sock.sendall(HELLO + b"\n")
        read_until(sock, b'"welcome"', b"")


def run(kind, clients, pair):
    with tempfile.NamedTemporaryFile("w", suffix=".log") as log:
        server, port = start(kind, pair if kind == "chats" else None, log)
        try:
            time.sleep(0.5)
            before = rss(server.pid)
            context = ssl.create_default_context(cafile=pair[0]) if pair else None
            held = []
            for number in range(clients):
                sock = socket.create_connection(("127.0.0.1", port))
                sock.settimeout(20)
                if kind == "chats":
                    sock = context.wrap_socket(sock, server_hostname="localhost")
                settle(kind, sock, port, number)
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
    parser.add_argument("--kinds", default="chat,irc", help="comma-separated: " + ",".join(SCHEMES))
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    results = {kind: [] for kind in kinds}
    with tempfile.TemporaryDirectory() as folder:
        pair = make_pair(folder) if "chats" in kinds else None
        for _ in range(args.runs):
            for kind in kinds:
                results[kind].append(run(kind, args.clients, pair))
                print(f"{kind}: {results[kind][-1]:.0f} bytes per idle connection", file=sys.stderr)
    print("| connection | idle connections | bytes per idle connection (median) | runs |")
    print("|---|---|---|---|")
    for kind, values in results.items():
        runs = ", ".join(f"{v:.0f}" for v in values)
        print(f"| {NAMES[kind]} | {args.clients} | {statistics.median(values):.0f} | {runs} |")


if __name__ == "__main__":
    main()
