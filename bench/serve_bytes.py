#!/usr/bin/env python3
"""A raw-socket HTTP server for benchmarks: every GET gets SIZE bytes with a Content-Length.

Usage: serve_bytes.py SIZE_BYTES   (prints the port it listens on, on 127.0.0.1, then serves until killed)
"""
import socket
import sys
import threading

CHUNK = memoryview(b"x" * (1 << 20))


def serve(conn, size):
    with conn:
        head = b""
        while b"\r\n\r\n" not in head:
            data = conn.recv(65536)
            if not data:
                return
            head += data
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: application/octet-stream\r\n\r\n" % size)
        left = size
        try:
            while left > 0:
                n = min(left, len(CHUNK))
                conn.sendall(CHUNK[:n])
                left -= n
        except (BrokenPipeError, ConnectionResetError):
            pass


def main():
    size = int(sys.argv[1])
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print(listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn, size), daemon=True).start()


if __name__ == "__main__":
    main()
