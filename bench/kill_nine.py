#!/usr/bin/env python3
"""kill -9 under load: ann pipelines 50,000 `say` while bob reads; the server is killed with SIGKILL
after 0.6 s and started again on the same file; the room's history, paged from the start, must hold
every message ann had acknowledged, once each and in order, and every message bob had been shown.
Loopback only; the file lives in a temporary directory.

Usage: bench/kill_nine.py [path/to/sockchat]
"""
import json, os, signal, socket, subprocess, sys, tempfile, threading, time
HERE = os.path.dirname(os.path.abspath(__file__))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "target", "release", "sockchat")
DB = os.path.join(tempfile.mkdtemp(), "kill-nine.db")
for s in ("", "-wal", "-shm"):
    if os.path.exists(DB + s): os.remove(DB + s)
def start(port):
    p = subprocess.Popen([BIN, "serve", "--no-console", "--listen", f"127.0.0.1:{port}", "--db", DB,
                          "--flood-control", "off"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port)).close(); return p
        except OSError: time.sleep(0.05)
    raise SystemExit("the server did not start")
def client(port, nick):
    s = socket.create_connection(("127.0.0.1", port)); f = s.makefile("rb")
    s.sendall((json.dumps({"type": "hello", "version": 1, "nick": nick}) + "\n").encode())
    while json.loads(f.readline())["type"] != "joined": pass
    return s, f
with socket.socket() as t: t.bind(("127.0.0.1", 0)); port = t.getsockname()[1]
server = start(port)
ann, annf = client(port, "ann"); bob, bobf = client(port, "bob")
acked = {}; seen = []
def send():
    try:
        ann.sendall("".join(json.dumps({"id": i, "type": "say", "text": f"m{i}"}) + "\n" for i in range(50000)).encode())
    except OSError: pass
def read_acks():
    for line in annf:
        e = json.loads(line)
        if e["type"] == "ack": acked[e["id"]] = e["message"]
def read_bob():
    for line in bobf:
        e = json.loads(line)
        if e["type"] == "message": seen.append(e["id"])
for fn in (send, read_acks, read_bob): threading.Thread(target=fn, daemon=True).start()
time.sleep(0.6)
os.kill(server.pid, signal.SIGKILL); server.wait()
time.sleep(0.3)
print("acked before kill -9:", len(acked), "bob saw:", len(seen))
server = start(port)
c, cf = client(port, "carol")
got = []; after = 0; rid = 0
while True:
    rid += 1
    c.sendall((json.dumps({"id": rid, "type": "history", "after": after, "limit": 1000}) + "\n").encode())
    while True:
        e = json.loads(cf.readline())
        if e["type"] == "history": page = e; break
    got += [(m["id"], m["text"]) for m in page["messages"]]
    if not page["messages"] or not page["more"]: break
    after = page["messages"][-1]["id"]
server.terminate(); server.wait()
ids = [i for i, _ in got]
texts = {t: i for i, t in got}
missing = [k for k, v in acked.items() if texts.get(f"m{k}") != v]
print("in history after restart:", len(got), "duplicates:", len(ids) - len(set(ids)), "in order:", ids == sorted(ids))
print("acknowledged but missing:", len(missing), "seen by bob but missing:", len(set(seen) - set(ids)))
