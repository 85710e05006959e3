// The demo page: a plain visitor chat and a plain agent view. Every text is
// rendered with textContent, never as HTML.
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

  function describe(conversation) {
    if (!conversation) return "No conversation yet: write a message.";
    const language = "language " + conversation.language;
    switch (conversation.state) {
      case "queued": return `Waiting for an agent (${language}, ${conversation.priority}), position ${conversation.queue_position ?? "?"}.`;
      case "active": return `Chatting with ${conversation.agent ? conversation.agent.name : "an agent"} (${language}).`;
      case "ai": return `Answered by the AI assistant (${language}); ask for a human any time.`;
      case "closed": return "Conversation closed. Write again to open a new one.";
      default: return conversation.state;
    }
  }

  // --- visitor -----------------------------------------------------------
  let visitor = null;
  const visitorSeen = new Set();

  async function loadVisitorChoices() {
    const [{ clients }, { languages }] = await Promise.all([api("GET", "/api/demo/clients"), api("GET", "/api/widget/config")]);
    for (const client of clients) {
      const option = document.createElement("option");
      option.value = client.personal_id;
      option.textContent = `${client.name} (${client.personal_id}${client.subscribed ? ", subscribed" : ""})`;
      $("client").appendChild(option);
    }
    for (const language of languages) {
      const option = document.createElement("option");
      option.value = language.code;
      option.textContent = language.native_name;
      $("panel").appendChild(option);
    }
  }

  async function connectVisitor() {
    if (visitor) visitor.disconnect();
    $("visitor-log").textContent = "";
    visitorSeen.clear();
    const { identity } = await api("POST", "/api/demo/identity", { personal_id: $("client").value });
    visitor = io("/visitor", {
      transports: ["websocket"],
      auth: { identity, languages: Array.from(navigator.languages || []), panel_language: $("panel").value || null },
    });
    visitor.on("connect", async () => {
      for (const id of ["visitor-text", "visitor-send", "visitor-human"]) $(id).disabled = false;
      const history = await visitor.emitWithAck("history", {});
      $("visitor-status").textContent = describe(history.conversation);
      for (const message of history.messages || []) addMessage($("visitor-log"), message, visitorSeen);
    });
    visitor.on("connect_error", (error) => { $("visitor-status").textContent = "Refused: " + (error.data ? error.data.message : error.message); });
    visitor.on("message", (message) => addMessage($("visitor-log"), message, visitorSeen));
    visitor.on("conversation", (conversation) => { $("visitor-status").textContent = describe(conversation); });
  }

  $("visitor-connect").addEventListener("click", () => connectVisitor().catch((e) => { $("visitor-status").textContent = e.message; }));
  $("visitor-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("visitor-text").value;
    if (!text.trim() || !visitor) return;
    const ack = await visitor.emitWithAck("message", { client_id: uuid(), text });
    if (ack.ok) { $("visitor-text").value = ""; addMessage($("visitor-log"), ack.message, visitorSeen); }
    else $("visitor-status").textContent = ack.error.message;
  });
  $("visitor-human").addEventListener("click", async () => {
    const ack = await visitor.emitWithAck("request_human", {});
    $("visitor-status").textContent = ack.ok ? describe(ack.conversation) : ack.error.message;
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
      agent.on("conversation", (conversation) => {
        if (conversation.state === "closed" && active.has(conversation.id)) $("agent-status").textContent = `Conversation #${conversation.id} closed.`;
      });
    } catch (error) {
      $("agent-status").textContent = error.message;
    }
  });
  $("agent-conversation").addEventListener("change", showConversation);
  $("agent-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("agent-text").value;
    const id = Number($("agent-conversation").value);
    if (!text.trim() || !id) return;
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

  loadVisitorChoices().catch((error) => { $("visitor-status").textContent = error.message; });
})();
