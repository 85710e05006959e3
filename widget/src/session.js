// One visitor's connection to /visitor (docs/protocol.md), with the rules
// that keep messages safe: every outgoing message has a client_id, waits in a
// stored outbox until acknowledged, is resent after a reconnect (the server
// answers a resent client_id with the first message), and every reconnect
// resyncs with `history {after_seq}`. No DOM here: the view listens.
import { io } from "socket.io-client";

const ACK_TIMEOUT = 10000;
const RETRY_DELAY = 3000;
const STOP_TYPING_AFTER = 4000;
// Errors that a later attempt may not meet; the rest fail the message for good.
const RETRYABLE = new Set(["internal", "unauthorized", "rate_limited"]);
// Refusals a fresh token from an identity callback may cure.
const TOKEN_REFUSALS = new Set(["identity_expired", "invalid_identity", "missing_identity", "identity_replayed"]);
// Refusals of a stored widget session: forget it and connect with the host's token instead.
const SESSION_REFUSALS = new Set(["session_expired", "invalid_session", "session_revoked"]);
const DEVICE_KEY = "chatwidget:device";

// A random ID for this browser, kept in localStorage: the server records it against
// verified accounts to notice a second account made from the same device.
export function deviceId() {
  try {
    let id = localStorage.getItem(DEVICE_KEY);
    if (!id) {
      id = newClientId().replace(/-/g, "");
      localStorage.setItem(DEVICE_KEY, id);
    }
    return id;
  } catch {
    return newClientId().replace(/-/g, "");
  }
}

function newClientId() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
}

// The `sub` claim of the host site's token, only to keep one visitor's stored
// outbox apart from another's in the same browser (the server verifies it).
function subject(token) {
  try {
    if (typeof token !== "string") return "anonymous";
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload)).sub || "anonymous";
  } catch {
    return "anonymous";
  }
}

// The browser's IANA time zone: the server tells opening times on this clock.
function timeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || null;
  } catch {
    return null;
  }
}

class Store {
  constructor(key) {
    this.key = key;
    this.data = {};
    try {
      this.data = JSON.parse(localStorage.getItem(key) || "{}") || {};
    } catch {
      // Storage off or full: the widget still works for this page view.
    }
  }

  get(name, fallback) {
    return this.data[name] === undefined ? fallback : this.data[name];
  }

  set(name, value) {
    this.data[name] = value;
    try {
      localStorage.setItem(this.key, JSON.stringify(this.data));
    } catch {
      // As above.
    }
  }
}

// One store per server and visitor: two visitors in one browser never share an outbox.
export function storeFor(server, token) {
  return new Store(`chatwidget:${server}:${subject(token)}`);
}

export class Session {
  // listener: {conversation, message, delta, typing, pending, sent, failed, connection, reconnected}
  constructor({ server, identity, browserLanguages, store, listener }) {
    this.server = server;
    this.identity = identity;
    this.browserLanguages = browserLanguages;
    this.store = store;
    this.listener = listener;
    this.panelLanguage = null;
    this.conversation = null;
    // Where to resume: the conversation, and the greatest seq up to which
    // every message has arrived (live events may come out of order).
    this.cursor = { conversation: 0, seq: 0, ahead: new Set() };
    this.outbox = store.get("outbox", []);
    this.pumping = false;
    this.everConnected = false;
    this.typingSent = false;
    this.typingTimer = null;
    this.device = deviceId();
    // The widget session the server handed out: host tokens work once, so reconnects and
    // reloads use this instead (docs/security.md).
    this.sessionToken = store.get("session", null);
  }

  get connected() {
    return Boolean(this.socket && this.socket.connected);
  }

  // Messages written in an earlier page view that no acknowledgement confirmed.
  pending() {
    return this.outbox.slice();
  }

  start(panelLanguage) {
    if (this.socket) return;
    this.panelLanguage = panelLanguage;
    this.listener.connection("connecting");
    this.socket = io(`${this.server}/visitor`, {
      auth: (callback) => this.auth().then(callback),
      // WebSocket first, long-polling where a proxy blocks it.
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
      timeout: 10000,
    });
    const socket = this.socket;
    socket.on("connect", () => this.onConnect());
    socket.on("disconnect", (reason) => {
      this.listener.connection("offline");
      // The server ended the session: socket.io does not come back by itself.
      if (reason === "io server disconnect") setTimeout(() => socket.connect(), RETRY_DELAY);
    });
    socket.on("connect_error", (error) => this.refused(error));
    socket.on("message", (message) => this.receive(message));
    socket.on("message_delta", (delta) => this.listener.delta(delta));
    socket.on("typing", (typing) => this.listener.typing(typing));
    socket.on("conversation", (conversation) => this.setConversation(conversation));
    socket.on("identity", (identity) => this.setIdentity(identity));
    socket.on("revoked", () => this.forgetSession());
  }

  setIdentity(identity) {
    if (identity && identity.verified && identity.session) {
      this.sessionToken = identity.session;
      this.store.set("session", identity.session);
    }
    if (this.listener.identity) this.listener.identity(identity);
  }

  forgetSession() {
    this.sessionToken = null;
    this.store.set("session", null);
  }

  stop() {
    clearTimeout(this.typingTimer);
    if (this.socket) {
      this.socket.removeAllListeners();
      this.socket.disconnect();
      this.socket = null;
    }
  }

  async auth() {
    const common = { device_id: this.device, languages: this.browserLanguages, panel_language: this.panelLanguage,
      timezone: timeZone() };
    if (this.sessionToken) return { session: this.sessionToken, ...common };
    let identity = this.identity;
    try {
      if (typeof identity === "function") identity = await identity();
    } catch {
      identity = null;
    }
    return this.identity ? { identity, ...common } : common;
  }

  // The panel language is part of the connection's auth: reconnect to change it.
  setPanelLanguage(code) {
    if (code === this.panelLanguage) return;
    this.panelLanguage = code;
    if (this.socket && this.socket.connected) this.socket.disconnect().connect();
  }

  refused(error) {
    const code = error && error.data && error.data.code;
    if (!code) {
      // The server is unreachable or refuses this origin; socket.io retries.
      this.listener.connection(this.everConnected ? "offline" : "unavailable");
      return;
    }
    if (SESSION_REFUSALS.has(code) && this.sessionToken) {
      this.forgetSession();
      setTimeout(() => this.socket && this.socket.connect(), 0);
      return;
    }
    if (TOKEN_REFUSALS.has(code) && typeof this.identity === "function") {
      setTimeout(() => this.socket && this.socket.connect(), RETRY_DELAY);
      this.listener.connection("offline");
      return;
    }
    this.listener.connection(code === "identity_expired" ? "expired" : "unavailable", code, error.data.message);
  }

  async onConnect() {
    const first = !this.everConnected;
    this.everConnected = true;
    this.typingSent = false;
    if (!first) this.listener.reconnected();
    this.listener.connection("online");
    await this.resync();
    this.pump();
  }

  // Fetch what this page missed.
  async resync() {
    const cursor = this.cursor;
    try {
      let ack = await this.call("history", cursor.seq ? { after_seq: cursor.seq } : {});
      if (ack.ok && cursor.seq && ack.conversation && ack.conversation.id !== cursor.conversation) {
        // A newer conversation than the one this page knew (opened in another tab): all of it.
        ack = await this.call("history", {});
      }
      if (!ack.ok) {
        setTimeout(() => this.connected && this.resync(), RETRY_DELAY);
        return;
      }
      if (ack.conversation) this.setConversation(ack.conversation);
      for (const message of ack.messages) this.receive(message);
    } catch {
      // Disconnected again: the next connect resyncs.
    }
  }

  setConversation(conversation) {
    // A conversation event of the visitor's previous, closed conversation can
    // trail behind the opening of a new one.
    if (this.conversation && conversation.id < this.conversation.id) return;
    // A queue refresh read before an accept can arrive after it: an update
    // about a state entered earlier than the one shown is stale.
    if (this.conversation && conversation.id === this.conversation.id
        && Date.parse(conversation.state_since) < Date.parse(this.conversation.state_since)) return;
    this.conversation = conversation;
    this.remember();
    this.listener.conversation(conversation);
  }

  receive(message) {
    this.advance(message);
    if (message.sender === "visitor" && message.client_id) this.settle(message.client_id);
    this.remember();
    this.listener.message(message);
  }

  advance({ conversation_id: conversation, seq }) {
    if (!seq || conversation < this.cursor.conversation) return;
    if (conversation > this.cursor.conversation) this.cursor = { conversation, seq: 0, ahead: new Set() };
    const cursor = this.cursor;
    if (seq <= cursor.seq) return;
    cursor.ahead.add(seq);
    while (cursor.ahead.delete(cursor.seq + 1)) cursor.seq += 1;
  }

  // A visitor with a conversation connects on every page, to hear replies.
  remember() {
    if (!this.store.get("known", false)) this.store.set("known", true);
  }

  settle(clientId) {
    const before = this.outbox.length;
    this.outbox = this.outbox.filter((item) => item.client_id !== clientId);
    if (this.outbox.length !== before) this.store.set("outbox", this.outbox);
  }

  send(text) {
    const item = { client_id: newClientId(), text };
    this.outbox.push(item);
    this.store.set("outbox", this.outbox);
    this.listener.pending(item);
    this.typing(false);
    this.pump();
    return item;
  }

  // Send the outbox one message at a time, in order, while connected.
  async pump() {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.connected && this.outbox.length) {
        const item = this.outbox[0];
        let ack;
        try {
          ack = await this.call("message", { client_id: item.client_id, text: item.text });
        } catch {
          // Disconnected (the next connect pumps again) or no answer in time.
          if (this.connected) setTimeout(() => this.pump(), RETRY_DELAY);
          return;
        }
        if (ack.ok) {
          this.settle(item.client_id);
          this.receive(ack.message);
        } else if (RETRYABLE.has(ack.error.code)) {
          setTimeout(() => this.pump(), RETRY_DELAY);
          return;
        } else {
          this.settle(item.client_id);
          this.listener.failed(item, ack.error);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  async requestHuman() {
    const ack = await this.call("request_human", {});
    if (ack.ok) this.setConversation(ack.conversation);
    return ack;
  }

  // While a closed team's conversation waits, let the AI answer until the opening.
  async askAi() {
    const ack = await this.call("ask_ai", {});
    if (ack.ok) this.setConversation(ack.conversation);
    return ack;
  }

  async rate(conversationId, rating, comment) {
    return this.call("rate", { conversation_id: conversationId, rating, comment });
  }

  // Ask for the paid urgent service; the ack carries the payment to complete.
  async hereAndNow() {
    return this.call("here_and_now", {});
  }

  // Tell the agent the visitor is writing; stop after a pause or on send.
  typing(active) {
    clearTimeout(this.typingTimer);
    const withAgent = this.conversation && this.conversation.state === "active";
    if (active) this.typingTimer = setTimeout(() => this.typing(false), STOP_TYPING_AFTER);
    if (!this.connected || active === this.typingSent || (active && !withAgent)) return;
    this.typingSent = active;
    this.socket.emit("typing", { typing: active });
  }

  // Emit with an acknowledgement; reject when the connection drops or time runs out.
  call(event, payload) {
    const socket = this.socket;
    return new Promise((resolve, reject) => {
      if (!socket || !socket.connected) {
        reject(new Error("offline"));
        return;
      }
      let done = false;
      const finish = (settle, value) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.off("disconnect", dropped);
        settle(value);
      };
      const dropped = () => finish(reject, new Error("disconnected"));
      const timer = setTimeout(() => finish(reject, new Error("timeout")), ACK_TIMEOUT);
      socket.on("disconnect", dropped);
      socket.emit(event, payload, (ack) => finish(resolve, ack));
    });
  }
}
