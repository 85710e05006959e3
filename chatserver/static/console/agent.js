// The agent console: live queue, accept, several conversations, typing both
// ways, transfer, close, canned responses. The socket authenticates with a
// bearer token the page fetches from its cookie session (on every
// (re)connect), and every (re)connect resyncs the queue and the open
// conversations from the server, so nothing is missed while offline.
(function () {
  "use strict";
  const { el, clear, api, toast, duration, when, TIERS } = window.Console;
  const $ = (id) => document.getElementById(id);
  const data = JSON.parse($("console-data").textContent);
  const me = data.agent;
  const names = data.language_names;
  const languageName = (code) => (code === "und" ? "Undetermined" : names[code] || code);
  const teamName = (team) => team.charAt(0).toUpperCase() + team.slice(1);
  const uuid = () => (crypto.randomUUID ? crypto.randomUUID() : Date.now() + "-" + Math.random());
  const SOON_MS = 60 * 60 * 1000;  // an SLA deadline within the hour is highlighted
  const HANDOFF = { visitor_request: "the visitor asked for a person", model: "the AI could not help further",
                    budget: "the AI's budget ran out", timeout: "the AI took too long", team_open: "the team opened" };

  const state = {
    queue: [], seenQueue: new Set(), firstQueue: true, status: null,
    conversations: new Map(),  // id -> {conversation, messages: Map(seq -> message), lastSeq, unread, visitorTyping}
    current: null, canned: [], accepting: new Set(), muted: localStorage.getItem("chatserver:muted") === "1",
  };

  // --- the socket --------------------------------------------------------------
  async function fetchToken() {
    const { token } = await api("POST", "/console/token");
    return token;
  }

  const socket = io("/agent", {
    transports: ["websocket"], autoConnect: false,
    auth: (cb) => { fetchToken().then((token) => cb({ token }), () => cb({})); },
  });

  function setConnection(kind, text) {
    const badge = $("connection");
    badge.dataset.state = kind;
    badge.textContent = text;
  }

  function call(event, payload) {
    return new Promise((resolve, reject) => {
      if (!socket.connected) { reject(new Error("Not connected; reconnecting…")); return; }
      socket.timeout(10000).emit(event, payload, (err, ack) => {
        if (err) reject(new Error("The server did not answer; try again."));
        else if (!ack || !ack.ok) reject(new Error(ack && ack.error ? ack.error.message : "Refused."));
        else resolve(ack);
      });
    });
  }

  socket.on("connect", () => setConnection("connected", "Connected"));
  socket.on("disconnect", (reason) => {
    setConnection("offline", "Reconnecting…");
    // The server cut us off on purpose (deactivated, signed out elsewhere):
    // try once more; the token request sends us to sign-in if the session is gone.
    if (reason === "io server disconnect") setTimeout(() => socket.connect(), 1000);
  });
  socket.on("connect_error", (error) => {
    setConnection("offline", "Reconnecting…");
    // A refusal by the server is not retried by socket.io itself; retry with a fresh token.
    if (error && error.data) setTimeout(() => socket.connect(), 2000);
  });

  socket.on("queue", renderQueue);
  socket.on("assigned", ({ conversations }) => resync(conversations));
  socket.on("message", (message) => addMessages(message.conversation_id, [message]));
  socket.on("conversation", onConversationChanged);
  socket.on("typing", ({ conversation_id, sender, typing }) => {
    const entry = state.conversations.get(conversation_id);
    if (!entry || sender !== "visitor") return;
    entry.visitorTyping = typing;
    clearTimeout(entry.typingTimer);
    // A lost "stopped typing" must not leave the indicator on for ever.
    if (typing) entry.typingTimer = setTimeout(() => { entry.visitorTyping = false; renderTyping(); }, 8000);
    renderTyping();
  });
  socket.on("here_and_now_offer", ({ conversation_id }) => {
    toast("A paid Here-and-now conversation is offered to you first: it is at the top of your queue.");
    cue(true);
  });

  // Admins' sockets hear SLA warnings, breaches and refunds due.
  socket.on("sla_warning", (c) => { toast(`SLA warning: ${c.client.name} waits; reply due ${when(c.sla_due_at)}.`); cue(true); });
  socket.on("sla_breach", (c) => { toast(`SLA missed: ${c.client.name} got no reply by ${when(c.sla_due_at)}.`); cue(true); });
  socket.on("refund_due", (p) => toast(`Here-and-now payment #${p.id} is due for a refund: no specialist accepted in time.`));

  // --- queue -------------------------------------------------------------------
  function renderQueue(queue) {
    state.queue = queue.conversations;
    state.status = queue.status;
    renderStatus();
    $("load").textContent = `${queue.load} of ${queue.capacity}`;
    const notice = $("queue-notice");
    const why = [];
    if (queue.status !== "online") why.push("You are away: set yourself online to see and take conversations.");
    else if (queue.at_capacity) why.push("You are at your capacity; close a conversation to take the next one.");
    if (queue.closed_teams && queue.closed_teams.length) why.push(`Closed now: ${queue.closed_teams.map(teamName).join(", ")}.`);
    notice.textContent = why.join(" ");
    notice.hidden = !why.length;
    let fresh = false;
    const list = clear($("queue"));
    for (const item of state.queue) {
      const isNew = !state.seenQueue.has(item.id);
      if (isNew) { state.seenQueue.add(item.id); fresh = fresh || !state.firstQueue; }
      list.appendChild(queueItem(item, isNew && !state.firstQueue));
    }
    state.firstQueue = false;
    $("queue-count").textContent = String(state.queue.length);
    $("queue-empty").hidden = state.queue.length > 0;
    if (fresh) cue(false);
    updateTitle();
  }

  function queueItem(item, fresh) {
    const client = item.client || {};
    return el("li", { class: fresh ? "fresh" : "", dataset: { conversationId: item.id } },
      el("div", { class: "name" }, el("span", { class: "client-name" }, client.name), el("span", { class: "pid" }, client.personal_id)),
      el("button", { type: "button", class: "primary accept small", onclick: () => accept(item.id) }, "Accept"),
      el("div", { class: "tags" },
        el("span", { class: "tag lang" }, languageName(item.language)),
        el("span", { class: `tag tier tier-${item.priority}` }, TIERS[item.priority] || item.priority),
        el("span", { class: "tag team" }, teamName(item.team)),
        el("span", { class: client.subscribed ? "tag sub" : "tag" }, client.subscribed ? "Active subscription" : "No subscription"),
        item.handoff_reason ? el("span", { class: "tag tier-ai" }, "From the AI") : null),
      el("div", { class: "preview", title: item.preview }, item.preview),
      el("div", { class: "times" },
        el("span", { class: "waiting", dataset: { since: item.waiting_since } }, "Waiting " + duration(Date.now() - Date.parse(item.waiting_since))),
        slaLabel(item.sla_due_at)));
  }

  function slaLabel(due) {
    const left = Date.parse(due) - Date.now();
    const kind = left <= 0 ? "breached" : left <= SOON_MS ? "soon" : "";
    const text = left <= 0 ? `SLA missed ${duration(-left)} ago` : `Reply due in ${duration(left)}`;
    return el("span", { class: `sla ${kind}`, dataset: { due }, title: "First-response deadline: " + when(due) }, text);
  }

  // Waiting times and deadlines move on their own.
  setInterval(() => {
    for (const node of document.querySelectorAll(".queue .waiting")) node.textContent = "Waiting " + duration(Date.now() - Date.parse(node.dataset.since));
    for (const node of document.querySelectorAll(".queue .sla")) node.replaceWith(slaLabel(node.dataset.due));
  }, 15000);

  async function accept(conversationId) {
    state.accepting.add(conversationId);
    try {
      const { conversation } = await call("accept", { conversation_id: conversationId });
      await openConversation(conversation, { select: true });
    } catch (error) { toast(error.message); }
    finally { state.accepting.delete(conversationId); }
  }

  // --- cues ---------------------------------------------------------------------
  let audio = null;
  function cue(urgent) {
    if (state.muted) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = urgent ? 1046 : 784;
      gain.gain.setValueAtTime(0.0001, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.2, audio.currentTime + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.4);
    } catch (error) { /* no audio device: the title still changes */ }
  }

  function updateTitle() {
    let unread = 0;
    for (const entry of state.conversations.values()) unread += entry.unread;
    const waiting = state.queue.length;
    const counts = state.muted ? 0 : waiting + unread;
    document.title = (counts ? `(${counts}) ` : "") + "Agent console · chatserver";
  }

  function renderMute() {
    const button = $("mute");
    button.setAttribute("aria-pressed", String(state.muted));
    button.textContent = state.muted ? "Sound off" : "Sound on";
    updateTitle();
  }
  $("mute").addEventListener("click", () => {
    state.muted = !state.muted;
    localStorage.setItem("chatserver:muted", state.muted ? "1" : "0");
    renderMute();
  });

  // --- status -------------------------------------------------------------------
  function renderStatus() {
    for (const button of document.querySelectorAll(".segmented button")) {
      button.setAttribute("aria-pressed", String(button.dataset.status === state.status));
    }
  }
  for (const button of document.querySelectorAll(".segmented button")) {
    button.addEventListener("click", async () => {
      try {
        const { status } = await call("status", { status: button.dataset.status });
        state.status = status;
        renderStatus();
      } catch (error) { toast(error.message); }
    });
  }

  // --- conversations --------------------------------------------------------------
  async function openConversation(conversation, { select = false } = {}) {
    let entry = state.conversations.get(conversation.id);
    if (!entry) {
      entry = { conversation, messages: new Map(), lastSeq: 0, unread: 0, visitorTyping: false };
      state.conversations.set(conversation.id, entry);
    } else {
      entry.conversation = conversation;
    }
    await loadHistory(conversation.id);
    if (select || state.current === null) selectConversation(conversation.id);
    renderMine();
  }

  async function loadHistory(conversationId) {
    const entry = state.conversations.get(conversationId);
    if (!entry) return;
    try {
      const history = await call("history", { conversation_id: conversationId, after_seq: entry.lastSeq });
      entry.conversation = history.conversation;
      addMessages(conversationId, history.messages, { quiet: true });
      if (state.current === conversationId) renderDetails();
    } catch (error) { toast(error.message); }
  }

  // After every (re)connect: the server's list is the truth.
  async function resync(assigned) {
    const ids = new Set(assigned.map((c) => c.id));
    for (const id of [...state.conversations.keys()]) {
      if (!ids.has(id)) dropConversation(id, "This conversation was closed or moved while you were away.");
    }
    for (const conversation of assigned) await openConversation(conversation);
    renderMine();
  }

  function addMessages(conversationId, messages, { quiet = false } = {}) {
    const entry = state.conversations.get(conversationId);
    if (!entry) return;
    let added = 0;
    for (const message of messages) {
      if (entry.messages.has(message.seq)) continue;
      entry.messages.set(message.seq, message);
      entry.lastSeq = Math.max(entry.lastSeq, message.seq);
      if (message.sender === "visitor") { entry.visitorTyping = false; added += 1; }
    }
    if (state.current === conversationId) {
      renderLog();
      renderTyping();
    } else if (added && !quiet) {
      entry.unread += added;
      cue(false);
    }
    renderMine();
    updateTitle();
  }

  function onConversationChanged(conversation) {
    const entry = state.conversations.get(conversation.id);
    const mine = conversation.state === "active" && conversation.agent && conversation.agent.id === me.id;
    if (mine && !entry && state.accepting.has(conversation.id)) {
      return;  // our own accept: its ack opens the conversation
    } else if (mine && !entry) {
      toast("A conversation was transferred to you.");
      cue(true);
      openConversation(conversation).catch(() => {});
    } else if (!mine && entry) {
      dropConversation(conversation.id, conversation.state === "closed" ? "The conversation was closed."
        : "The conversation is no longer yours.");
    }
  }

  function dropConversation(id, why) {
    state.conversations.delete(id);
    if (state.current === id) { state.current = null; renderChat(); toast(why); }
    renderMine();
    updateTitle();
  }

  function clientLabel(conversation) {
    return conversation.client ? conversation.client.name : `Conversation ${conversation.id}`;
  }

  function renderMine() {
    const list = clear($("mine"));
    for (const [id, entry] of state.conversations) {
      list.appendChild(el("li", { role: "tab", "aria-selected": String(state.current === id), dataset: { conversationId: id },
                                  onclick: () => selectConversation(id) },
        el("span", { class: "title" }, clientLabel(entry.conversation)),
        el("span", { class: "tag" }, languageName(entry.conversation.language)),
        el("span", { class: "unread", "aria-label": "unread messages" }, entry.unread ? String(entry.unread) : "")));
    }
    $("mine-empty").hidden = state.conversations.size > 0;
  }

  function selectConversation(id) {
    const entry = state.conversations.get(id);
    if (!entry) return;
    if (state.current !== null && state.current !== id) stopTyping();
    state.current = id;
    entry.unread = 0;
    renderMine();
    renderChat();
    updateTitle();
    $("text").focus();
  }

  function renderChat() {
    const entry = state.conversations.get(state.current);
    $("chat-empty").hidden = Boolean(entry);
    $("chat-body").hidden = !entry;
    $("details-empty").hidden = Boolean(entry);
    $("details-body").hidden = !entry;
    if (!entry) return;
    const conversation = entry.conversation;
    $("chat-title").textContent = clientLabel(conversation);
    clear($("chat-meta")).append(
      el("span", { class: "tag" }, languageName(conversation.language)),
      el("span", { class: `tag tier-${conversation.priority}` }, TIERS[conversation.priority] || conversation.priority),
      el("span", { class: "tag" }, teamName(conversation.team)));
    const banner = $("handoff-banner");
    const fromAi = [...entry.messages.values()].some((m) => m.sender === "ai") || conversation.handoff_reason;
    banner.hidden = !fromAi;
    banner.textContent = fromAi ? "Handed over from the AI assistant" + (HANDOFF[conversation.handoff_reason]
      ? ` because ${HANDOFF[conversation.handoff_reason]}` : "") + ". Its transcript is in the conversation below." : "";
    renderLog();
    renderTyping();
    renderDetails();
  }

  function renderLog() {
    const entry = state.conversations.get(state.current);
    if (!entry) return;
    const log = clear($("log"));
    const ordered = [...entry.messages.values()].sort((a, b) => a.seq - b.seq);
    for (const message of ordered) {
      const who = message.sender === "visitor" ? clientLabel(entry.conversation)
        : message.sender === "agent" ? (message.agent ? message.agent.name : "Agent")
        : message.sender === "ai" ? "AI assistant" : "";
      log.appendChild(el("li", { class: `msg ${message.sender}`, dataset: { sender: message.sender, seq: message.seq } },
        who ? el("span", { class: "who" }, who + " · " + new Date(message.created_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })) : null,
        el("span", { class: "text" }, message.text)));
    }
    log.scrollTop = log.scrollHeight;
  }

  function renderTyping() {
    const entry = state.conversations.get(state.current);
    $("typing").textContent = entry && entry.visitorTyping ? `${clientLabel(entry.conversation)} is typing…` : "";
  }

  function renderDetails() {
    const entry = state.conversations.get(state.current);
    if (!entry) return;
    const conversation = entry.conversation;
    const client = conversation.client || {};
    const until = client.subscription_active_until;
    const subscribed = until && Date.parse(until) > Date.now();
    clear($("client-facts")).append(
      el("dt", {}, "Name"), el("dd", {}, client.name || ""),
      el("dt", {}, "Personal ID"), el("dd", { class: "mono" }, client.personal_id || ""),
      el("dt", {}, "Email"), el("dd", {}, client.email || ""),
      el("dt", {}, "Subscription"), el("dd", {}, subscribed ? `Active until ${when(until)}` : "None"),
      el("dt", {}, "Started"), el("dd", {}, when(conversation.created_at)));
    const decision = conversation.language_decision || {};
    $("language-decision").textContent = conversation.language_explanation || decision.explanation || "No decision yet.";
    const candidates = clear($("language-candidates"));
    for (const candidate of decision.candidates || []) {
      candidates.appendChild(el("li", {}, el("span", {}, candidate.name || languageName(candidate.language)),
        el("span", { class: "muted" }, Math.round(candidate.score * 100) + "%")));
    }
    const list = clear($("canned-list"));
    const usable = cannedFor(conversation);
    for (const response of usable) list.appendChild(el("li", { title: response.text }, el("b", {}, "/" + response.name), el("span", {}, response.text)));
    if (!usable.length) list.appendChild(el("li", { class: "empty" }, "None for this team and language."));
  }

  // --- composer, typing and canned responses ----------------------------------------
  let typingSent = false;
  let typingTimer = null;
  function stopTyping() {
    clearTimeout(typingTimer);
    if (typingSent && state.current !== null) socket.emit("typing", { conversation_id: state.current, typing: false });
    typingSent = false;
  }

  function cannedFor(conversation) {
    return state.canned.filter((r) => (r.team === null || r.team === conversation.team)
      && (r.language === null || r.language === conversation.language));
  }

  let menuIndex = 0;
  function cannedMatches() {
    const entry = state.conversations.get(state.current);
    const value = $("text").value;
    if (!entry || !/^\/\S*$/.test(value)) return [];
    const prefix = value.slice(1).toLowerCase();
    return cannedFor(entry.conversation).filter((r) => r.name.startsWith(prefix));
  }

  function renderMenu() {
    const matches = cannedMatches();
    const menu = clear($("canned-menu"));
    menu.hidden = !matches.length;
    menuIndex = Math.min(menuIndex, Math.max(0, matches.length - 1));
    matches.forEach((response, index) => {
      menu.appendChild(el("li", { role: "option", "aria-selected": String(index === menuIndex), dataset: { name: response.name },
                                  onmousedown: (event) => { event.preventDefault(); insertCanned(response); } },
        el("b", {}, "/" + response.name), el("span", {}, response.text)));
    });
    return matches;
  }

  function insertCanned(response) {
    $("text").value = response.text;
    $("canned-menu").hidden = true;
    $("text").focus();
  }

  $("text").addEventListener("input", () => {
    renderMenu();
    if (state.current === null) return;
    if (!typingSent && $("text").value) {
      typingSent = true;
      socket.emit("typing", { conversation_id: state.current, typing: true });
    }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 2500);
  });

  $("text").addEventListener("keydown", (event) => {
    const matches = $("canned-menu").hidden ? [] : cannedMatches();
    if (matches.length && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      menuIndex = (menuIndex + (event.key === "ArrowDown" ? 1 : matches.length - 1)) % matches.length;
      renderMenu();
    } else if (matches.length && (event.key === "Tab" || event.key === "Enter")) {
      event.preventDefault();
      insertCanned(matches[menuIndex]);
    } else if (event.key === "Escape") {
      $("canned-menu").hidden = true;
    } else if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });

  $("composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("text").value.trim();
    const conversationId = state.current;
    if (!text || conversationId === null) return;
    stopTyping();
    $("send").disabled = true;
    try {
      const { message } = await call("message", { conversation_id: conversationId, client_id: uuid(), text });
      $("text").value = "";
      addMessages(conversationId, [message]);
    } catch (error) { toast(error.message); }
    finally { $("send").disabled = false; $("text").focus(); }
  });

  $("close").addEventListener("click", async () => {
    const id = state.current;
    if (id === null) return;
    try {
      await call("close", { conversation_id: id });
      dropConversation(id, "Conversation closed.");
      toast("Conversation closed.");
    } catch (error) { toast(error.message); }
  });

  // --- transfer -------------------------------------------------------------------
  $("transfer-open").addEventListener("click", async () => {
    $("transfer-error").textContent = "";
    const select = clear($("transfer-agent"));
    select.appendChild(el("option", { value: "" }, "—"));
    try {
      const { agents } = await api("GET", "/api/agents");
      for (const agent of agents) {
        if (agent.id === me.id) continue;
        select.appendChild(el("option", { value: String(agent.id), disabled: !agent.online },
          `${agent.name} — ${agent.online ? `online, ${agent.load}/${agent.capacity}` : "offline"} · ${agent.languages.map(languageName).join(", ")}`));
      }
    } catch (error) { $("transfer-error").textContent = error.message; }
    $("transfer-team").value = "";
    $("transfer-dialog").showModal();
  });
  $("transfer-cancel").addEventListener("click", () => $("transfer-dialog").close());
  $("transfer-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const agentId = $("transfer-agent").value;
    const team = $("transfer-team").value;
    if (Boolean(agentId) === Boolean(team)) {
      $("transfer-error").textContent = "Choose either an agent or a team.";
      return;
    }
    const id = state.current;
    try {
      await call("transfer", agentId ? { conversation_id: id, to_agent_id: Number(agentId) } : { conversation_id: id, to_team: team });
      $("transfer-dialog").close();
      dropConversation(id, "Conversation transferred.");
      toast("Conversation transferred.");
    } catch (error) { $("transfer-error").textContent = error.message; }
  });

  // --- start ----------------------------------------------------------------------
  async function loadCanned() {
    try { state.canned = (await api("GET", "/api/canned")).canned; } catch (error) { state.canned = []; }
  }

  renderMute();
  renderChat();
  loadCanned().then(() => socket.connect());
  window.agentConsole = { socket, state };  // for tests and debugging
})();
