#!/usr/bin/env python3
"""Bytes per idle connection, plain (chat://) against TLS (chats://), a fresh server for every run.

Each run starts `sockchat serve` with both listeners and a throwaway self-signed pair (made with
openssl), reads its RSS, opens N structured connections to one listener (hello, wait for the welcome,
then stay silent), waits for the server to settle, reads its RSS again, and reports the growth divided
by N. Runs alternate between the schemes; medians are printed as Markdown.

Usage: bench/idle_tls.py [--clients N] [--runs N]      (build first: cargo build --release)
"""
import argparse
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
SOCKCHAT = os.path.join(HERE, "..", "target", "release", "sockchat")
HELLO = b'{"type":"hello","version":1}\n'


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


def start(cert, key, log):
    # The log goes to a file: a pipe nobody reads would fill and stall the server.
    server = subprocess.Popen(
        [SOCKCHAT, "serve", "--no-console", "--listen", "127.0.0.1:0", "--listen", "chats://127.0.0.1:0",
         "--tls-cert", cert, "--tls-key", key, "--max-connections", "20000"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    ports = {}
    deadline = time.time() + 10
    while len(ports) < 2 and time.time() < deadline:
        time.sleep(0.05)
        with open(log.name) as text:
            for found in re.finditer(r"listening on (chats://)?127\.0\.0\.1:(\d+)", text.read()):
                ports["chats" if found.group(1) else "chat"] = int(found.group(2))
    if len(ports) < 2:
        server.kill()
        raise RuntimeError("the server did not start")
    return server, ports


def welcomed(sock):
    seen = b""
    while b'"welcome"' not in seen:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("closed before the welcome")
        seen += chunk


def run(scheme, clients, cert, key):
    with tempfile.NamedTemporaryFile("w", suffix=".log") as log:
        return measure(scheme, clients, cert, *start(cert, key, log))


def measure(scheme, clients, cert, server, ports):
    try:
        time.sleep(0.5)
        before = rss(server.pid)
        context = ssl.create_default_context(cafile=cert)
        held = []
        for _ in range(clients):
            sock = socket.create_connection(("127.0.0.1", ports[scheme]))
            sock.settimeout(20)
            if scheme == "chats":
                sock = context.wrap_socket(sock, server_hostname="localhost")
            sock.sendall(HELLO)
            welcomed(sock)
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
    results = {"chat": [], "chats": []}
    with tempfile.TemporaryDirectory() as folder:
        cert, key = make_pair(folder)
        for _ in range(args.runs):
            for scheme in results:
                results[scheme].append(run(scheme, args.clients, cert, key))
                print(f"{scheme}: {results[scheme][-1]:.0f} bytes per idle connection", file=sys.stderr)
    print("| scheme | idle connections | bytes per idle connection (median) | runs |")
    print("|---|---|---|---|")
    for scheme, values in results.items():
        runs = ", ".join(f"{v:.0f}" for v in values)
        print(f"| {scheme} | {args.clients} | {statistics.median(values):.0f} | {runs} |")


if __name__ == "__main__":
    main()
