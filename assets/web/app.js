// The sockchat page: a client of the structured protocol (docs/protocol.md) over the server's own
// WebSocket at /ws, one JSON object per text frame.
//
// Shape: `state` holds the conversations ("windows"); `handle*` functions take server events and
// change it; `render*` functions put it on the page. Every piece of text from the server goes on
// the page through textContent, never as markup.
"use strict";

// How many messages one history request asks for.
const PAGE = 50;
// Reconnect backoff, in milliseconds.
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 15000;
// The most lines a window keeps; the oldest go (scrolling back fetches them again).
const MAX_LINES = 5000;

const $ = (id) => document.getElementById(id);

const state = {
  ws: null,
  online: false,
  nick: null,
  // The nick the user chose (by /nick or an account), asked for again on reconnecting; a guest's
  // numbered nick is the server's to give.
  wantedNick: null,
  // Whether a connection was welcomed before, so that a welcome is a reconnect.
  welcomedBefore: false,
  // Kept in memory only, so that a reconnect logs in again; never stored.
  password: null,
  account: null,
  // Windows by key: "#room", "@nick" (direct messages), "?words" (a search).
  windows: new Map(),
  current: null,
  // The window to bring to the front when its room is joined (one the user asked for).
  showNext: null,
  // The id of the next request that wants an answer.
  nextId: 1,
  // Requests awaiting their answer, by id: what to do with the ack or error.
  pending: new Map(),
  retryMs: RETRY_FIRST_MS,
  notify: false,
  // The user said /quit: do not reconnect.
  left: false,
};

/* ---------- windows ---------- */

function makeWindow(key, kind, name) {
  return {
    key, kind, name,
    lines: [],          // {id, node}: messages by id, system lines with the id before them
    ids: new Set(),     // message ids shown, so a page and a live message never show one twice
    oldest: null,       // smallest message id shown
    newest: null,       // largest message id shown
    more: true,         // whether older messages may remain
    loading: false,     // a history page is on its way
    unread: 0,
    mention: false,
    topic: null,
    topicKnown: false,
    members: new Set(),
    joined: false,
    scrollTop: null,
  };
}

function windowFor(key, kind, name) {
  let win = state.windows.get(key);
  if (!win) {
    win = makeWindow(key, kind, name);
    state.windows.set(key, win);
    renderSidebar();
  }
  return win;
}

const roomKey = (room) => "#" + room;
const dmKey = (nick) => "@" + nick.toLowerCase();

function currentWindow() {
  return state.windows.get(state.current);
}

function show(key) {
  const before = currentWindow();
  if (before) before.scrollTop = $("log").scrollTop;
  state.current = key;
  const win = currentWindow();
  win.unread = 0;
  win.mention = false;
  renderSidebar();
  renderWindow();
  if (win.kind === "dm" && state.account && win.newest === null && win.more) requestOlder(win);
  $("sidebar").classList.remove("open");
  $("menu").setAttribute("aria-expanded", "false");
}

/* ---------- the connection ---------- */

function connect() {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const ws = new WebSocket(scheme + location.host + "/ws");
  state.ws = ws;
  setStatus("connecting…", false);
  ws.onopen = () => {
    const hello = { type: "hello", version: 1 };
    if (state.wantedNick) hello.nick = state.wantedNick;
    if (state.wantedNick && state.password) hello.password = state.password;
    ws.send(JSON.stringify(hello));
  };
  ws.onmessage = (frame) => {
    let event;
    try {
      event = JSON.parse(frame.data);
    } catch {
      return;
    }
    handle(event);
  };
  ws.onclose = (close) => {
    if (state.ws !== ws) return;
    state.online = false;
    state.pending.clear();
    for (const win of state.windows.values()) {
      win.joined = false;
      win.loading = false;
    }
    if (state.left) {
      setStatus("disconnected", true);
      return;
    }
    const wait = state.retryMs;
    state.retryMs = Math.min(state.retryMs * 2, RETRY_MAX_MS);
    const why = close.reason ? ` (${close.reason})` : "";
    setStatus(`offline${why}; reconnecting in ${Math.round(wait / 1000)} s`, true);
    setTimeout(connect, wait);
  };
}

function send(request, onAnswer) {
  if (!state.online && request.type !== "hello") {
    systemLine(currentWindow(), "Not connected; try again in a moment.", "error");
    return false;
  }
  if (onAnswer) {
    request.id = state.nextId++;
    state.pending.set(request.id, onAnswer);
  }
  state.ws.send(JSON.stringify(request));
  return true;
}

function setStatus(text, offline) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("offline", offline);
}

/* ---------- server events ---------- */

function handle(event) {
  const handler = handlers[event.type];
  if (handler) handler(event);
}

const handlers = {
  welcome(event) {
    state.online = true;
    state.retryMs = RETRY_FIRST_MS;
    state.nick = event.nick;
    setStatus(`${event.nick}`, false);
    renderAccount();
    if (state.welcomedBefore) systemLine(currentWindow(), "Reconnected.");
    state.welcomedBefore = true;
    // Rooms open before a reconnect are joined again; each then resumes after its newest line.
    for (const win of state.windows.values()) {
      if (win.kind === "room" && win.name !== event.room) send({ type: "join", room: win.name });
    }
    if (state.account === null) return;
    for (const win of state.windows.values()) {
      if (win.kind === "dm") resume(win);
    }
  },

  joined(event) {
    const win = windowFor(roomKey(event.room), "room", event.room);
    if (event.nick.toLowerCase() === (state.nick || "").toLowerCase()) {
      win.joined = true;
      // The first room, or one the user asked to join, comes to the front; rooms joined again
      // after a reconnect stay where they were.
      if (!currentWindow() || state.showNext === win.key) {
        state.showNext = null;
        show(win.key);
      }
      resume(win);
      win.members.clear();
      send({ type: "who", room: event.room });
    } else {
      win.members.add(event.nick);
      systemLine(win, `${event.nick} joined`);
    }
    renderMembers();
  },

  parted(event) {
    const win = state.windows.get(roomKey(event.room));
    if (!win) return;
    if (event.nick.toLowerCase() === state.nick.toLowerCase()) {
      state.windows.delete(win.key);
      if (state.current === win.key) state.current = null;
      const next = [...state.windows.values()].find((w) => w.kind === "room") || [...state.windows.values()][0];
      if (next) show(next.key); else renderWindow();
      renderSidebar();
      return;
    }
    win.members.delete(event.nick);
    systemLine(win, `${event.nick} left`);
    renderMembers();
  },

  // An operator took someone out of a room; if it was this user, the room's window goes as on a part.
  kicked(event) {
    const why = event.reason ? `: ${event.reason}` : "";
    if (event.nick.toLowerCase() === (state.nick || "").toLowerCase()) {
      handlers.parted(event);
      systemLine(currentWindow(), `You were taken out of #${event.room} by ${event.by}${why}`);
      return;
    }
    const win = state.windows.get(roomKey(event.room));
    if (!win) return;
    win.members.delete(event.nick);
    systemLine(win, `${event.nick} was taken out by ${event.by}${why}`);
    renderMembers();
  },

  invited(event) {
    systemLine(currentWindow(), `${event.by} invites you to #${event.room}: /join ${event.room}`);
  },

  quit(event) {
    for (const win of state.windows.values()) {
      if (win.members.delete(event.nick)) systemLine(win, `${event.nick} quit (${event.reason})`);
    }
    renderMembers();
  },

  renamed(event) {
    if (event.from.toLowerCase() === (state.nick || "").toLowerCase()) {
      state.nick = event.to;
      state.wantedNick = event.to;
      setStatus(event.to, false);
      renderAccount();
    }
    for (const win of state.windows.values()) {
      if (win.members.delete(event.from)) {
        win.members.add(event.to);
        systemLine(win, `${event.from} is now known as ${event.to}`);
      }
    }
    renderMembers();
  },

  topic(event) {
    const win = state.windows.get(roomKey(event.room));
    if (!win) return;
    // The topic told on joining is shown in the bar; a change is a line in the window too.
    const changed = win.topicKnown && win.topic !== event.topic;
    win.topic = event.topic;
    win.topicKnown = true;
    if (changed && event.topic) systemLine(win, `${event.by} set the topic: ${event.topic}`);
    renderTitle();
  },

  members(event) {
    const win = state.windows.get(roomKey(event.room));
    if (!win) return;
    for (const nick of event.nicks) win.members.add(nick);
    if (event.more && event.nicks.length) send({ type: "who", room: event.room, after: event.nicks[event.nicks.length - 1] });
    renderMembers();
  },

  message(event) {
    const win = windowOfMessage(event);
    addMessage(win, event, true);
  },

  history(event) {
    const win = event.room ? state.windows.get(roomKey(event.room)) : windowFor(dmKey(event.with), "dm", event.with);
    if (!win) return;
    win.loading = false;
    const log = $("log");
    const fromBottom = log.scrollHeight - log.scrollTop;
    const older = win.pageDirection === "before";
    for (const message of event.messages) addMessage(win, message, false);
    if (older || win.pageDirection === "latest") win.more = event.more;
    if (win.key === state.current) {
      renderWindow();
      // Older lines went in above: keep what the reader was looking at where it was.
      if (older) log.scrollTop = log.scrollHeight - fromBottom;
    }
    // Catching up after a reconnect goes on until nothing newer remains.
    if (win.pageDirection === "after" && event.more) resume(win);
    // A page that does not fill the window cannot be scrolled: fetch the one before it at once.
    else if (win.key === state.current && win.more && log.scrollHeight <= log.clientHeight + 80) requestOlder(win);
  },

  search(event) {
    const key = "?" + event.query;
    const win = windowFor(key, "search", `search: ${event.query}`);
    win.more = false;
    win.lines = [];
    win.ids.clear();
    if (event.messages.length === 0) systemLine(win, "No messages match.");
    // Newest first, as the server sends them, each with where it was said.
    for (const message of event.messages) {
      win.lines.push({ id: -win.lines.length, node: messageNode(message, true) });
    }
    $("searches-title").hidden = false;
    show(key);
  },

  ack(event) {
    const onAnswer = state.pending.get(event.id);
    state.pending.delete(event.id);
    if (onAnswer) onAnswer(event, null);
  },

  error(event) {
    const onAnswer = event.id != null ? state.pending.get(event.id) : null;
    state.pending.delete(event.id);
    if (onAnswer) onAnswer(null, event);
    else systemLine(currentWindow(), event.message, "error");
  },

  account(event) {
    state.account = event.account;
    if (event.account) state.wantedNick = event.account;
    else state.password = null;
    renderAccount();
    if (event.account) systemLine(currentWindow(), `Logged in as ${event.account}.`);
  },

  notice(event) {
    systemLine(currentWindow(), event.text);
  },

  help() {
    showHelp();
  },

  ping() {
    send({ type: "pong" });
  },

  bye(event) {
    systemLine(currentWindow(), `The server closed the connection: ${event.reason}`, "error");
  },
};

function windowOfMessage(message) {
  if (message.room) return windowFor(roomKey(message.room), "room", message.room);
  // A direct message: the conversation is with whoever is not us.
  const other = message.from.toLowerCase() === (state.nick || "").toLowerCase() ? message.to : message.from;
  return windowFor(dmKey(other), "dm", other);
}

/* ---------- history ---------- */

// Fills a window from the store: the latest page when it has nothing, else the page after its
// newest line (after a reconnect), so that nothing is missed and nothing shows twice.
function resume(win) {
  if (win.loading) return;
  const request = { type: "history", limit: PAGE };
  if (win.kind === "room") request.room = win.name; else request.with = win.name;
  if (win.newest !== null) {
    request.after = win.newest;
    win.pageDirection = "after";
  } else {
    win.pageDirection = "latest";
  }
  win.loading = true;
  send(request, (_ack, error) => {
    if (error) {
      win.loading = false;
      if (error.code !== "not_logged_in") systemLine(win, error.message, "error");
    }
  });
}

// The page before the oldest line shown, when the reader scrolls up to it.
function requestOlder(win) {
  if (win.loading || !win.more || win.kind === "search") return;
  const request = { type: "history", limit: PAGE };
  if (win.kind === "room") request.room = win.name; else request.with = win.name;
  if (win.oldest !== null) {
    request.before = win.oldest;
    win.pageDirection = "before";
  } else {
    win.pageDirection = "latest";
  }
  win.loading = true;
  send(request, (_ack, error) => {
    if (error) {
      win.loading = false;
      win.more = false;
      if (error.code !== "not_logged_in") systemLine(win, error.message, "error");
      renderOlderButton();
    }
  });
}

/* ---------- lines ---------- */

// Puts a message in its window in id order, unless it is there already.
function addMessage(win, message, live) {
  if (win.ids.has(message.id)) return;
  win.ids.add(message.id);
  win.oldest = win.oldest === null ? message.id : Math.min(win.oldest, message.id);
  win.newest = win.newest === null ? message.id : Math.max(win.newest, message.id);
  const line = { id: message.id, node: messageNode(message, false) };
  insertLine(win, line);
  if (live) noteArrival(win, message, line.node);
}

function insertLine(win, line) {
  let at = win.lines.length;
  while (at > 0 && win.lines[at - 1].id > line.id) at--;
  win.lines.splice(at, 0, line);
  if (win.lines.length > MAX_LINES) {
    const dropped = win.lines.shift();
    if (typeof dropped.id === "number" && Number.isInteger(dropped.id)) win.ids.delete(dropped.id);
    win.oldest = win.lines.find((l) => Number.isInteger(l.id))?.id ?? null;
    win.more = true;
  }
  if (win.key !== state.current) return;
  const list = $("messages");
  const log = $("log");
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  const after = win.lines[at + 1];
  if (after && after.node.parentNode === list) list.insertBefore(line.node, after.node);
  else list.appendChild(line.node);
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function messageNode(message, withPlace) {
  const own = message.from.toLowerCase() === (state.nick || "").toLowerCase();
  const li = document.createElement("li");
  li.dataset.id = String(message.id);
  if (message.action) li.classList.add("action");
  if (!own && mentions(message.text)) li.classList.add("mention");
  const when = new Date(message.ts);
  const time = document.createElement("time");
  time.dateTime = when.toISOString();
  // A search's matches come from any day: their date goes with their time.
  if (withPlace) li.classList.add("found");
  const day = { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  time.textContent = withPlace ? when.toLocaleString([], day) : when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  time.title = when.toLocaleString();
  const nick = document.createElement("span");
  nick.className = own ? "nick own" : "nick";
  nick.textContent = message.action ? `* ${message.from}` : message.from;
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = message.text;
  if (withPlace) {
    const place = document.createElement("span");
    place.className = "place";
    place.textContent = message.room ? ` in #${message.room}` : ` to ${message.to}`;
    nick.appendChild(place);
  }
  li.append(time, nick, text);
  return li;
}

// A line from the page or the server that is not a message.
function systemLine(win, text, kind = "system") {
  if (!win) return;
  const li = document.createElement("li");
  li.className = kind === "error" ? "system error" : "system";
  const time = document.createElement("time");
  time.textContent = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const mark = document.createElement("span");
  mark.className = "nick";
  mark.textContent = "—";
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  li.append(time, mark, body);
  // After the newest message so far, and before any message that comes later.
  insertLine(win, { id: (win.newest ?? 0) + 0.5, node: li });
}

function mentions(text) {
  if (!state.nick) return false;
  const escaped = state.nick.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[^\\w-])${escaped}($|[^\\w-])`, "i").test(text);
}

function noteArrival(win, message, node) {
  const mentioned = node.classList.contains("mention") || (win.kind === "dm" && message.from !== state.nick);
  const seen = win.key === state.current && document.visibilityState === "visible";
  if (!seen) {
    win.unread++;
    if (mentioned) win.mention = true;
    renderSidebar();
  }
  if (mentioned && state.notify && document.visibilityState !== "visible") {
    const where = message.room ? `#${message.room}` : "a direct message";
    const note = new Notification(`${message.from} in ${where}`, { body: message.text.slice(0, 200), tag: win.key });
    note.onclick = () => { window.focus(); show(win.key); };
  }
}

/* ---------- rendering ---------- */

function renderSidebar() {
  const lists = { room: $("rooms"), dm: $("dms"), search: $("searches") };
  for (const list of Object.values(lists)) list.replaceChildren();
  for (const win of state.windows.values()) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    if (win.key === state.current) button.setAttribute("aria-current", "true");
    button.classList.toggle("has-unread", win.unread > 0);
    button.classList.toggle("has-mention", win.mention);
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = win.kind === "room" ? `#${win.name}` : win.name;
    button.append(name);
    let label = name.textContent;
    if (win.unread > 0) {
      const unread = document.createElement("span");
      unread.className = "unread";
      unread.textContent = win.mention ? `@${win.unread}` : String(win.unread);
      button.append(unread);
      label += `, ${win.unread} unread${win.mention ? ", mentions you" : ""}`;
    }
    button.setAttribute("aria-label", label);
    button.addEventListener("click", () => { show(win.key); $("input").focus(); });
    li.append(button);
    lists[win.kind].append(li);
  }
}

function renderWindow() {
  const win = currentWindow();
  const list = $("messages");
  list.replaceChildren(...(win ? win.lines.map((l) => l.node) : []));
  renderTitle();
  renderMembers();
  renderOlderButton();
  const log = $("log");
  log.scrollTop = win && win.scrollTop !== null ? win.scrollTop : log.scrollHeight;
  if (win && win.scrollTop === null) log.scrollTop = log.scrollHeight;
  if (win) win.scrollTop = null;
}

function renderTitle() {
  const win = currentWindow();
  $("window-name").textContent = !win ? "" : win.kind === "room" ? `#${win.name}` : win.name;
  $("topic").textContent = win && win.topic ? win.topic : "";
  document.title = win ? `${$("window-name").textContent} · sockchat` : "sockchat";
}

function renderMembers() {
  const win = currentWindow();
  const nicks = win && win.kind === "room" ? [...win.members].sort((a, b) => a.localeCompare(b, undefined, { sensitivity: "base" })) : [];
  $("members").replaceChildren(...nicks.map((nick) => {
    const li = document.createElement("li");
    li.textContent = nick;
    return li;
  }));
  $("member-count").textContent = nicks.length ? `(${nicks.length})` : "";
}

function renderOlderButton() {
  const win = currentWindow();
  $("older").hidden = !win || !win.more || win.kind === "search";
}

function renderAccount() {
  $("account").textContent = state.account ? `${state.account} ▾` : "Sign in";
}

/* ---------- commands ---------- */

const HELP = [
  "/join ROOM — join a room (made if new) and open it",
  "/part [ROOM] — leave this room, or ROOM",
  "/msg NICK TEXT — a direct message; /query NICK opens the conversation",
  "/me TEXT — an action",
  "/nick NAME — change your nick",
  "/topic [TEXT] — show or set this room's topic",
  "/search WORDS — messages holding every word, in your rooms (and your direct messages when logged in)",
  "/register PASSWORD — make the nick you hold your account",
  "/login NICK PASSWORD — log in to an account",
  "/who — the members of this room; /rooms — the rooms",
  "/quit [REASON] — leave the chat",
  "Enter sends, Shift+Enter starts a new line; Alt+Up and Alt+Down change conversation; scroll up for older messages.",
];

function showHelp() {
  for (const line of HELP) systemLine(currentWindow(), line);
}

// Turns what was typed into a request; a line without a command is said in the current window.
function submit(typed) {
  const win = currentWindow();
  if (!typed.startsWith("/") || typed.startsWith("//")) {
    say(win, typed.startsWith("//") ? typed.slice(1) : typed, false);
    return;
  }
  const [, command, rest = ""] = typed.match(/^\/(\S+)\s*([\s\S]*)$/) || [];
  const words = rest.split(/\s+/).filter(Boolean);
  const reportErrors = (_ack, error) => { if (error) systemLine(currentWindow(), error.message, "error"); };
  switch ((command || "").toLowerCase()) {
    case "join": case "j":
      if (!words[0]) return systemLine(win, "Usage: /join ROOM", "error");
      state.showNext = roomKey(words[0].replace(/^#/, "").toLowerCase());
      send({ type: "join", room: words[0] }, reportErrors);
      break;
    case "part": case "leave": {
      const room = words[0] || (win && win.kind === "room" ? win.name : null);
      if (!room) return systemLine(win, "Usage: /part ROOM", "error");
      send({ type: "part", room }, reportErrors);
      break;
    }
    case "msg": case "query": {
      const [to] = words;
      const text = rest.slice(to ? rest.indexOf(to) + to.length : 0).replace(/^\s/, "");
      if (!to) return systemLine(win, "Usage: /msg NICK TEXT", "error");
      const target = windowFor(dmKey(to), "dm", to);
      show(target.key);
      if (text) say(target, text, false);
      break;
    }
    case "me":
      if (!rest) return systemLine(win, "Usage: /me TEXT", "error");
      say(win, rest, true);
      break;
    case "nick":
      if (!words[0]) return systemLine(win, "Usage: /nick NAME", "error");
      send({ type: "nick", nick: words[0] }, reportErrors);
      break;
    case "topic":
      if (!win || win.kind !== "room") return systemLine(win, "Topics belong to rooms.", "error");
      if (rest) send({ type: "topic", room: win.name, topic: rest }, reportErrors);
      else systemLine(win, win.topic ? `Topic: ${win.topic}` : "No topic is set.");
      break;
    case "search":
      if (!rest) return systemLine(win, "Usage: /search WORDS", "error");
      send({ type: "search", query: rest, limit: 50 }, reportErrors);
      break;
    case "register":
      if (!words[0]) return systemLine(win, "Usage: /register PASSWORD", "error");
      register(words[0], reportErrors);
      break;
    case "login":
      if (words.length < 2) return systemLine(win, "Usage: /login NICK PASSWORD", "error");
      login(words[0], words[1], reportErrors);
      break;
    case "who":
      if (win && win.kind === "room") { win.members.clear(); send({ type: "who", room: win.name }, reportErrors); }
      break;
    case "rooms":
      send({ type: "rooms" }, reportErrors);
      break;
    case "help":
      showHelp();
      break;
    case "quit":
      state.left = true;
      send(rest ? { type: "quit", reason: rest } : { type: "quit" });
      break;
    default:
      systemLine(win, `Unknown command /${command}; /help lists them.`, "error");
  }
}

function register(password, onAnswer) {
  send({ type: "register", password }, (ack, error) => {
    if (ack) state.password = password;
    onAnswer(ack, error);
  });
}

function login(nick, password, onAnswer) {
  send({ type: "login", nick, password }, (ack, error) => {
    if (ack) state.password = password;
    onAnswer(ack, error);
  });
}

// Says `text` in a room or to a person; our own line shows once the server has it (its ack
// carries the id and time), as others see it.
function say(win, text, action) {
  if (!win || win.kind === "search") return systemLine(win, "Join a room first: /join ROOM", "error");
  const request = win.kind === "room" ? { type: "say", room: win.name, text } : { type: "msg", to: win.name, text };
  if (action) {
    if (win.kind !== "room") return systemLine(win, "/me works in rooms.", "error");
    request.action = true;
  }
  send(request, (ack, error) => {
    if (error) return systemLine(win, error.message, "error");
    const message = { id: ack.message, ts: ack.ts, from: state.nick, text, action };
    if (win.kind === "room") message.room = win.name; else message.to = win.name;
    addMessage(win, message, false);
  });
}

/* ---------- the page's controls ---------- */

function setUp() {
  const input = $("input");
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  // The input grows with what is in it, up to its maximum height.
  input.addEventListener("input", () => {
    input.style.height = "auto";
    input.style.height = `${input.scrollHeight}px`;
  });
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const typed = input.value.replace(/\s+$/, "");
    if (!typed.trim()) return;
    submit(typed);
    input.value = "";
    input.style.height = "auto";
  });
  document.addEventListener("keydown", (event) => {
    if (event.altKey && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
      event.preventDefault();
      const keys = [...state.windows.keys()];
      const at = keys.indexOf(state.current);
      const next = keys[(at + (event.key === "ArrowUp" ? keys.length - 1 : 1)) % keys.length];
      if (next) show(next);
      input.focus();
    } else if (event.key === "Escape") {
      input.focus();
    }
  });
  $("log").addEventListener("scroll", () => {
    const win = currentWindow();
    if (win && $("log").scrollTop < 80) requestOlder(win);
  });
  $("older").addEventListener("click", () => { const win = currentWindow(); if (win) requestOlder(win); });
  $("menu").addEventListener("click", () => {
    const open = $("sidebar").classList.toggle("open");
    $("menu").setAttribute("aria-expanded", String(open));
  });
  document.addEventListener("visibilitychange", () => {
    const win = currentWindow();
    if (document.visibilityState === "visible" && win) {
      win.unread = 0;
      win.mention = false;
      renderSidebar();
    }
  });
  setUpNotifications();
  setUpAccountDialog();
  input.focus();
}

function setUpNotifications() {
  const button = $("notify");
  if (!("Notification" in window)) {
    button.hidden = true;
    return;
  }
  button.addEventListener("click", async () => {
    if (state.notify) {
      state.notify = false;
    } else {
      state.notify = (await Notification.requestPermission()) === "granted";
    }
    button.setAttribute("aria-pressed", String(state.notify));
  });
}

function setUpAccountDialog() {
  const dialog = $("account-dialog");
  const form = $("account-form");
  $("account").addEventListener("click", () => {
    $("account-nick").value = state.account || state.nick || "";
    $("account-password").value = "";
    $("account-error").textContent = "";
    $("account-note").textContent = state.account
      ? `You are logged in as ${state.account}. Log in to another account, or register the nick you hold.`
      : "Log in to your account, or register the nick you hold so that it is yours.";
    dialog.showModal();
    $("account-password").focus();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const action = event.submitter ? event.submitter.value : "login";
    if (action === "cancel") return dialog.close();
    const nick = $("account-nick").value.trim();
    const password = $("account-password").value;
    const done = (ack, error) => {
      if (error) {
        $("account-error").textContent = error.message;
      } else {
        dialog.close();
        $("input").focus();
      }
    };
    if (action === "register") {
      if (nick.toLowerCase() !== (state.nick || "").toLowerCase()) {
        // Register takes the nick you hold: change to it first.
        send({ type: "nick", nick }, (ack, error) => (error ? done(null, error) : register(password, done)));
      } else {
        register(password, done);
      }
    } else {
      login(nick, password, done);
    }
  });
}

setUp();
connect();
