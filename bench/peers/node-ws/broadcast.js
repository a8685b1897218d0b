// A broadcast chat server on the `ws` package, speaking as much of sockchat's structured protocol
// as `sockchat bench --proto ws` uses: a hello is welcomed and joined, and each `say` goes to every
// other client as a `message`, rendered once for all. The baseline for docs/BENCHMARKS.md.
//
// Usage: node broadcast.js [PORT]   (0, the default, picks a free port; the port is printed)
"use strict";
const { WebSocketServer } = require("ws");

const server = new WebSocketServer({ host: "127.0.0.1", port: Number(process.argv[2] || 0), path: "/ws" });
const clients = new Set();
let nextConn = 1;
let nextId = 1;

server.on("listening", () => console.log(`listening on ws://127.0.0.1:${server.address().port}/ws`));

server.on("connection", (socket) => {
  const conn = nextConn++;
  let nick = `user${conn}`;
  socket.on("message", (data) => {
    let request;
    try {
      request = JSON.parse(data);
    } catch {
      return socket.send(JSON.stringify({ type: "error", id: null, code: "bad_request", message: "not JSON" }));
    }
    if (request.type === "hello") {
      nick = request.nick || nick;
      const room = request.room || "lobby";
      clients.add(socket);
      socket.send(JSON.stringify({ type: "welcome", version: 1, server: "node ws", nick, conn, room, max_message: 1048576 }));
      socket.send(JSON.stringify({ type: "joined", room, nick }));
    } else if (request.type === "say") {
      const message = JSON.stringify({
        type: "message", id: nextId++, ts: Date.now(), from: nick, room: request.room || "lobby", text: request.text,
      });
      for (const other of clients) {
        if (other !== socket) other.send(message);
      }
      if (request.id !== undefined) socket.send(JSON.stringify({ type: "ack", id: request.id }));
    } else if (request.type === "ping") {
      socket.send(JSON.stringify({ type: "pong" }));
    }
  });
  socket.on("close", () => clients.delete(socket));
});
