// The demo page: a host website embedding the chat widget (with a form that
// mints demo identities) and a plain agent view. Every text is rendered with
// textContent, never as HTML.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const uuid = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());

  async function api(method, path, body, token) {
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    const response = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
    const data = await response.json();
    if (!response.ok) throw new Error(data.error ? data.error.message : response.statusText);
    return data;
  }

  function addMessage(log, message, seen) {
    if (seen.has(message.id)) return;
    seen.add(message.id);
    const item = document.createElement("div");
    item.className = "msg " + message.sender;
    const who = document.createElement("small");
    const names = { visitor: "Visitor", ai: "AI assistant", system: "" };
    who.textContent = message.sender === "agent" ? (message.agent ? message.agent.name : "Agent") : names[message.sender];
    const text = document.createElement("span");
    text.textContent = message.sender === "system" && message.text === "conversation_closed" ? "Conversation closed" : message.text;
    if (who.textContent) item.appendChild(who);
    item.appendChild(text);
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  // --- the host website: mint a demo identity and boot the widget ---------
  // A real site signs the token on its server when the visitor signs in; the
  // demo asks this server to do it (development mode only). The personal ID
  // is kept for the tab, so a reload boots the same visitor again and the
  // widget resyncs the conversation.
  const SIGNED_IN = "chatserver-demo:personal_id";

  function widgetReady() {
    if (window.ChatWidget) return Promise.resolve(window.ChatWidget);
    return new Promise((resolve) => window.addEventListener("chatwidget:ready", (event) => resolve(event.detail), { once: true }));
  }

  async function signIn(personalId) {
    const { identity } = await api("POST", "/api/demo/identity", { personal_id: personalId });
    (await widgetReady()).boot({ identity });
    sessionStorage.setItem(SIGNED_IN, personalId);
    const option = $("client").querySelector(`option[value="${CSS.escape(personalId)}"]`);
    $("site-status").textContent = `Signed in as ${option ? option.textContent : personalId}. Open the chat at the bottom right.`;
    $("identity-clear").disabled = false;
  }

  async function loadClients() {
    const { clients } = await api("GET", "/api/demo/clients");
    for (const client of clients) {
      const option = document.createElement("option");
      option.value = client.personal_id;
      option.textContent = `${client.name} (${client.personal_id}${client.subscribed ? ", subscribed" : ""})`;
      $("client").appendChild(option);
    }
    const remembered = sessionStorage.getItem(SIGNED_IN);
    if (remembered && clients.some((client) => client.personal_id === remembered)) {
      $("client").value = remembered;
      await signIn(remembered);
    }
  }

  $("identity-form").addEventListener("submit", (event) => {
    event.preventDefault();
    signIn($("client").value).catch((error) => { $("site-status").textContent = error.message; });
  });
  $("identity-clear").addEventListener("click", async () => {
    (await widgetReady()).shutdown();
    sessionStorage.removeItem(SIGNED_IN);
    $("identity-clear").disabled = true;
    $("site-status").textContent = "Signed out: the widget is gone, as on a site that shows it to signed-in visitors only.";
  });

  // --- agent ---------------------------------------------------------------
  let agent = null;
  const agentSeen = new Set();
  const active = new Map();

  function renderQueue(queue) {
    const list = $("agent-queue");
    list.textContent = "";
    if (!queue.conversations.length) {
      const empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = queue.status === "away" ? "You are away." : queue.at_capacity ? "At capacity." : "The queue is empty.";
      list.appendChild(empty);
    }
    for (const entry of queue.conversations) {
      const item = document.createElement("li");
      const body = document.createElement("div");
      const meta = document.createElement("div");
      meta.className = "meta";
      const tier = document.createElement("span");
      tier.className = "tier " + entry.priority;
      tier.textContent = entry.priority;
      meta.append(tier, ` ${entry.language} · ${entry.team} · ${entry.client.name} (${entry.client.personal_id}) · due ${new Date(entry.sla_due_at).toLocaleString()}`);
      const preview = document.createElement("div");
      preview.className = "preview";
      preview.textContent = entry.preview;
      body.append(meta, preview);
      const accept = document.createElement("button");
      accept.textContent = "Accept";
      accept.addEventListener("click", async () => {
        const ack = await agent.emitWithAck("accept", { conversation_id: entry.id });
        if (!ack.ok) { $("agent-status").textContent = ack.error.message; return; }
        addActive(ack.conversation, true);
      });
      item.append(body, accept);
      list.appendChild(item);
    }
  }

  function addActive(conversation, select) {
    if (!active.has(conversation.id)) {
      const option = document.createElement("option");
      option.value = conversation.id;
      option.textContent = `#${conversation.id} ${conversation.client.name} (${conversation.language})`;
      $("agent-conversation").appendChild(option);
    }
    active.set(conversation.id, conversation);
    if (select) { $("agent-conversation").value = conversation.id; showConversation(); }
    for (const id of ["agent-text", "agent-send", "agent-close"]) $(id).disabled = false;
  }

  async function showConversation() {
    const id = Number($("agent-conversation").value);
    $("agent-log").textContent = "";
    agentSeen.clear();
    if (!id) return;
    const ack = await agent.emitWithAck("history", { conversation_id: id });
    if (!ack.ok) return;
    $("agent-status").textContent = ack.conversation.language_explanation || "";
    for (const message of ack.messages) addMessage($("agent-log"), message, agentSeen);
  }

  $("agent-login").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const { token, agent: me } = await api("POST", "/api/auth/login", { email: $("agent-email").value, password: $("agent-password").value });
      if (agent) agent.disconnect();
      active.clear();
      $("agent-conversation").textContent = "";
      agent = io("/agent", { transports: ["websocket"], auth: { token } });
      agent.on("connect", () => { $("agent-status").textContent = `Signed in as ${me.name}.`; });
      agent.on("connect_error", (error) => { $("agent-status").textContent = "Refused: " + (error.data ? error.data.message : error.message); });
      agent.on("queue", renderQueue);
      agent.on("assigned", ({ conversations }) => conversations.forEach((c, i) => addActive(c, i === 0)));
      agent.on("message", (message) => { if (message.conversation_id === Number($("agent-conversation").value)) addMessage($("agent-log"), message, agentSeen); });
      agent.on("typing", ({ conversation_id: id, typing }) => {
        if (id === Number($("agent-conversation").value)) $("agent-status").textContent = typing ? "The visitor is typing…" : "";
      });
      agent.on("conversation", (conversation) => {
        if (conversation.state === "closed" && active.has(conversation.id)) $("agent-status").textContent = `Conversation #${conversation.id} closed.`;
      });
    } catch (error) {
      $("agent-status").textContent = error.message;
    }
  });
  $("agent-conversation").addEventListener("change", showConversation);
  // Typing, as the visitor sees it in the widget: on while writing, off after a pause or on send.
  let typingTimer = null;
  function agentTyping(typing) {
    const id = Number($("agent-conversation").value);
    clearTimeout(typingTimer);
    typingTimer = typing ? setTimeout(() => agentTyping(false), 3000) : null;
    if (!agent || !id || typing === agentTyping.sent) return;
    agentTyping.sent = typing;
    agent.emit("typing", { conversation_id: id, typing });
  }
  agentTyping.sent = false;
  $("agent-text").addEventListener("input", () => agentTyping($("agent-text").value.length > 0));
  $("agent-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("agent-text").value;
    const id = Number($("agent-conversation").value);
    if (!text.trim() || !id) return;
    agentTyping(false);
    const ack = await agent.emitWithAck("message", { conversation_id: id, client_id: uuid(), text });
    if (ack.ok) { $("agent-text").value = ""; addMessage($("agent-log"), ack.message, agentSeen); }
    else $("agent-status").textContent = ack.error.message;
  });
  $("agent-close").addEventListener("click", async () => {
    const id = Number($("agent-conversation").value);
    if (!id) return;
    const ack = await agent.emitWithAck("close", { conversation_id: id });
    if (!ack.ok) { $("agent-status").textContent = ack.error.message; return; }
    active.delete(id);
    $("agent-conversation").querySelector(`option[value="${id}"]`).remove();
    showConversation();
  });

  loadClients().catch((error) => { $("site-status").textContent = error.message; });
})();
