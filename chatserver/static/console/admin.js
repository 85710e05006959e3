// The admin console: overview, panel languages, agents, clients, canned
// responses, team calendars and the audit log, all through the REST API with
// the console's session cookie and CSRF token. Text is only ever set with
// textContent (via Console.el).
(function () {
  "use strict";
  const { el, clear, api, toast, when, TIERS } = window.Console;
  const $ = (id) => document.getElementById(id);
  const data = JSON.parse($("admin-data").textContent);
  const names = data.language_names;
  const languageName = (code) => names[code] || code;
  const teamName = (team) => team.charAt(0).toUpperCase() + team.slice(1);
  let agentsById = new Map();

  function fail(box) {
    return (error) => { if (box) $(box).textContent = error.message; else toast(error.message); };
  }

  // --- sections ------------------------------------------------------------------
  const loaders = {};
  function show() {
    const id = (location.hash || "#overview").slice(1);
    const known = document.getElementById(id) && document.getElementById(id).hasAttribute("data-section") ? id : "overview";
    for (const section of document.querySelectorAll("[data-section]")) section.hidden = section.id !== known;
    for (const link of document.querySelectorAll(".sidenav a")) link.setAttribute("aria-current", String(link.hash === "#" + known));
    if (loaders[known]) loaders[known]().catch(fail());
  }
  window.addEventListener("hashchange", show);

  // --- overview ------------------------------------------------------------------
  loaders.overview = async () => {
    const overview = await api("GET", "/api/admin/overview");
    $("stat-queued").textContent = overview.queued;
    $("stat-online").textContent = overview.agents_online.length;
    $("stat-active").textContent = overview.conversations_active;
    $("stat-ai").textContent = overview.conversations_with_ai;
    const byLanguage = clear($("queue-by-language"));
    for (const row of overview.languages) {
      byLanguage.appendChild(el("tr", {}, el("td", {}, row.name, row.agents === 0 ? el("span", { class: "warn" }, " no agent") : null),
        el("td", {}, String(overview.queue_by_language[row.code] || 0))));
    }
    for (const [code, count] of Object.entries(overview.queue_by_language)) {
      if (!overview.languages.some((row) => row.code === code)) byLanguage.appendChild(el("tr", {}, el("td", {}, languageName(code)), el("td", {}, String(count))));
    }
    const byTeam = clear($("queue-by-team"));
    for (const team of data.teams) byTeam.appendChild(el("tr", {}, el("td", {}, teamName(team)), el("td", {}, String(overview.queue_by_team[team] || 0))));
    const online = clear($("agents-online"));
    for (const agent of overview.agents_online) {
      online.appendChild(el("tr", {}, el("td", {}, agent.name), el("td", {}, agent.languages.map(languageName).join(", ")),
        el("td", {}, agent.teams.map(teamName).join(", ")), el("td", {}, `${agent.load} of ${agent.capacity}`)));
    }
    if (!overview.agents_online.length) online.appendChild(el("tr", {}, el("td", { colspan: "4", class: "empty" }, "No agent is online.")));
    const [{ breaches }, { payments }] = await Promise.all([api("GET", "/api/admin/sla/breaches"),
                                                           api("GET", "/api/admin/payments?status=refund_due")]);
    $("breach-count").textContent = String(breaches.length);
    const breachRows = clear($("breaches"));
    for (const breach of breaches.slice(0, 10)) {
      breachRows.appendChild(el("tr", {}, el("td", {}, breach.client.name, el("span", { class: "muted mono" }, " " + breach.client.personal_id)),
        el("td", {}, teamName(breach.team)), el("td", {}, TIERS[breach.priority] || breach.priority),
        el("td", {}, when(breach.sla_due_at)), el("td", {}, when(breach.sla_breached_at)),
        el("td", {}, breach.agent ? breach.agent.name : "Nobody yet")));
    }
    if (!breaches.length) breachRows.appendChild(el("tr", {}, el("td", { colspan: "6", class: "empty" }, "No deadline missed.")));
    $("refund-count").textContent = String(payments.length);
    const refundRows = clear($("refunds"));
    for (const payment of payments.slice(0, 10)) {
      refundRows.appendChild(el("tr", {}, el("td", { class: "mono" }, `#${payment.id} (${payment.provider})`),
        el("td", {}, String(payment.conversation_id)),
        el("td", {}, (payment.amount_cents / 100).toFixed(2) + " " + payment.currency.toUpperCase()),
        el("td", {}, when(payment.refund_due_at))));
    }
    if (!payments.length) refundRows.appendChild(el("tr", {}, el("td", { colspan: "4", class: "empty" }, "No refund due.")));
    $("overview-updated").textContent = "Updated " + new Date().toLocaleTimeString();
  };
  // The overview is live: refreshed while it is on screen.
  setInterval(() => { if (!$("overview").hidden) loaders.overview().catch(() => {}); }, 5000);

  // --- languages -----------------------------------------------------------------
  let panel = [];
  loaders.languages = async () => {
    const overview = await api("GET", "/api/admin/overview");
    panel = overview.languages;
    const rows = clear($("language-rows"));
    for (const row of panel) {
      rows.appendChild(el("tr", { dataset: { code: row.code } },
        el("td", {}, row.name, row.native_name && row.native_name !== row.name ? el("span", { class: "muted" }, " · " + row.native_name) : null),
        el("td", { class: "mono" }, row.code),
        el("td", {}, String(row.agents), row.agents === 0 ? el("span", { class: "warn" }, " No agent speaks it") : null),
        el("td", {}, String(row.online), row.agents > 0 && row.online === 0 ? el("span", { class: "muted" }, " (none online)") : null),
        el("td", { class: "actions" }, row.code === "en" ? el("span", { class: "muted" }, "Always offered")
          : el("button", { type: "button", class: "danger small", onclick: () => setLanguages(panel.map((r) => r.code).filter((c) => c !== row.code)) }, "Remove"))));
    }
  };

  async function setLanguages(codes) {
    await api("PUT", "/api/admin/languages", { languages: codes });
    await loaders.languages();
    toast("Panel languages saved.");
  }

  $("language-add").addEventListener("submit", (event) => {
    event.preventDefault();
    const code = $("language-select").value;
    if (panel.some((row) => row.code === code)) { toast(`${languageName(code)} is already offered.`); return; }
    setLanguages([...panel.map((row) => row.code), code]).catch(fail());
  });

  // --- agents --------------------------------------------------------------------
  async function loadAgents() {
    const [{ agents }, { agents: directory }] = await Promise.all([api("GET", "/api/admin/agents"), api("GET", "/api/agents")]);
    const online = new Map(directory.map((agent) => [agent.id, agent]));
    agentsById = new Map(agents.map((agent) => [agent.id, agent]));
    return agents.map((agent) => ({ ...agent, online: online.has(agent.id) && online.get(agent.id).online }));
  }

  loaders.agents = async () => {
    const rows = clear($("agent-rows"));
    for (const agent of await loadAgents()) {
      const row = el("tr", { class: agent.active ? "" : "inactive", dataset: { agentId: agent.id, email: agent.email } },
        el("td", {}, el("div", {}, agent.name), el("div", { class: "muted" }, agent.email)),
        el("td", {}, agent.role === "admin" ? "Admin" : "Agent"),
        el("td", {}, agent.languages.map(languageName).join(", ")),
        el("td", {}, agent.teams.map(teamName).join(", ")),
        el("td", {}, String(agent.capacity)),
        el("td", {}, !agent.active ? "Deactivated" : agent.online ? el("span", { class: "ok" }, "Online") : agent.availability === "away" ? "Away" : "Offline"),
        el("td", { class: "actions" },
          el("button", { type: "button", class: "secondary small", onclick: () => editAgent(agent, row) }, "Edit"),
          el("button", { type: "button", class: "small", onclick: () => resetPassword(agent) }, "Reset password"),
          agent.id === data.agent.id ? null : el("button", { type: "button", class: agent.active ? "danger small" : "small",
            onclick: () => setActive(agent, !agent.active) }, agent.active ? "Deactivate" : "Reactivate")));
      rows.appendChild(row);
    }
  };

  function editAgent(agent, row) {
    const languages = el("select", { multiple: true, "aria-label": "Languages" },
      Object.entries(names).sort((a, b) => a[1].localeCompare(b[1])).map(([code, name]) => el("option", { value: code, selected: agent.languages.includes(code) }, name)));
    const teams = el("div", { class: "checks" }, data.teams.map((team) =>
      el("label", {}, el("input", { type: "checkbox", value: team, checked: agent.teams.includes(team) }), " " + teamName(team))));
    const name = el("input", { type: "text", value: agent.name, "aria-label": "Name" });
    const capacity = el("input", { type: "number", min: "1", max: "50", value: String(agent.capacity), "aria-label": "Capacity" });
    const role = el("select", { "aria-label": "Role" }, el("option", { value: "agent", selected: agent.role === "agent" }, "Agent"),
      el("option", { value: "admin", selected: agent.role === "admin" }, "Admin"));
    const outside = el("input", { type: "checkbox", checked: agent.works_outside_hours });
    const error = el("p", { class: "error", role: "alert" });
    const form = el("form", { class: "edit-agent" },
      el("div", { class: "form-row" }, el("div", {}, el("label", {}, "Name"), name), el("div", {}, el("label", {}, "Capacity"), capacity),
        el("div", {}, el("label", {}, "Role"), role)),
      el("div", { class: "form-row" }, el("div", {}, el("label", {}, "Languages"), languages),
        el("div", {}, el("label", {}, "Teams"), teams, el("label", {}, outside, " May work outside office hours"))),
      error,
      el("div", { class: "form-row" }, el("button", { type: "submit", class: "primary" }, "Save"),
        el("button", { type: "button", class: "ghost", onclick: () => loaders.agents() }, "Cancel")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api("PATCH", `/api/admin/agents/${agent.id}`, {
          name: name.value, capacity: Number(capacity.value), role: role.value, works_outside_hours: outside.checked,
          languages: [...languages.selectedOptions].map((option) => option.value),
          teams: [...teams.querySelectorAll("input:checked")].map((input) => input.value) });
        toast(`${name.value} saved.`);
        await loaders.agents();
      } catch (err) { error.textContent = err.message; }
    });
    const editor = el("tr", { class: "editor" }, el("td", { colspan: "7" }, form));
    row.after(editor);
    name.focus();
  }

  async function resetPassword(agent) {
    const password = window.prompt(`New password for ${agent.name} (at least 8 characters). They will be signed out everywhere.`);
    if (!password) return;
    try {
      await api("POST", `/api/admin/agents/${agent.id}/password`, { password });
      toast(`Password of ${agent.name} reset.`);
    } catch (error) { toast(error.message); }
  }

  async function setActive(agent, active) {
    if (!active && !window.confirm(`Deactivate ${agent.name}? They are signed out at once and their conversations go back to the queue.`)) return;
    try {
      await api("PATCH", `/api/admin/agents/${agent.id}`, { active });
      toast(`${agent.name} ${active ? "reactivated" : "deactivated"}.`);
      await loaders.agents();
    } catch (error) { toast(error.message); }
  }

  $("agent-create").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("agent-create-error").textContent = "";
    try {
      const agent = await api("POST", "/api/admin/agents", {
        name: $("new-agent-name").value, email: $("new-agent-email").value, password: $("new-agent-password").value,
        languages: [...$("new-agent-languages").selectedOptions].map((option) => option.value),
        teams: [...document.querySelectorAll("#new-agent-teams input:checked")].map((input) => input.value),
        capacity: Number($("new-agent-capacity").value), role: $("new-agent-role").value });
      $("agent-create").reset();
      toast(`Agent ${agent.name} created.`);
      await loaders.agents();
    } catch (error) { $("agent-create-error").textContent = error.message; }
  });

  // --- clients -------------------------------------------------------------------
  const endOfDay = (date) => (date ? date + "T23:59:59Z" : null);

  loaders.clients = async () => {
    const query = $("client-query").value.trim();
    const { clients } = await api("GET", "/api/admin/clients?q=" + encodeURIComponent(query));
    const rows = clear($("client-rows"));
    for (const client of clients) {
      const date = el("input", { type: "date", "aria-label": `Subscription end for ${client.name}`,
                                 value: client.subscription_active_until ? client.subscription_active_until.slice(0, 10) : "" });
      const setSubscription = async (value) => {
        try {
          await api("PUT", `/api/admin/clients/${encodeURIComponent(client.personal_id)}/subscription`, { subscription_active_until: value });
          toast(`Subscription of ${client.name} saved.`);
          await loaders.clients();
        } catch (error) { toast(error.message); }
      };
      rows.appendChild(el("tr", { dataset: { personalId: client.personal_id } },
        el("td", {}, client.name), el("td", { class: "mono" }, client.personal_id), el("td", {}, client.email),
        el("td", {}, client.subscription_active ? el("span", { class: "ok" }, "Active until " + when(client.subscription_active_until))
          : client.subscription_active_until ? "Ended " + when(client.subscription_active_until) : "None"),
        el("td", { class: "actions" }, el("div", { class: "inline" }, date,
          el("button", { type: "button", class: "secondary small", onclick: () => setSubscription(endOfDay(date.value)) }, "Save"),
          el("button", { type: "button", class: "ghost small", onclick: () => setSubscription(null) }, "Remove")))));
    }
    if (!clients.length) rows.appendChild(el("tr", {}, el("td", { colspan: "5", class: "empty" }, "No client matches.")));
  };

  $("client-search").addEventListener("submit", (event) => { event.preventDefault(); loaders.clients().catch(fail()); });
  $("client-create").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("client-create-error").textContent = "";
    try {
      const client = await api("POST", "/api/admin/clients", { name: $("new-client-name").value, email: $("new-client-email").value,
                                                             subscription_active_until: endOfDay($("new-client-until").value) });
      $("client-create").reset();
      $("client-query").value = client.personal_id;
      toast(`Client ${client.name} created: ${client.personal_id}.`);
      await loaders.clients();
    } catch (error) { $("client-create-error").textContent = error.message; }
  });

  // --- canned responses ------------------------------------------------------------
  loaders.canned = async () => {
    const { canned } = await api("GET", "/api/admin/canned");
    const rows = clear($("canned-rows"));
    for (const response of canned) {
      rows.appendChild(el("tr", { dataset: { name: response.name } },
        el("td", { class: "mono" }, "/" + response.name), el("td", {}, response.team ? teamName(response.team) : "Every team"),
        el("td", {}, response.language ? languageName(response.language) : "Every language"), el("td", {}, response.text),
        el("td", { class: "actions" },
          el("button", { type: "button", class: "secondary small", onclick: () => fillCanned(response) }, "Edit"),
          el("button", { type: "button", class: "danger small", onclick: () => deleteCanned(response) }, "Delete"))));
    }
    if (!canned.length) rows.appendChild(el("tr", {}, el("td", { colspan: "5", class: "empty" }, "No canned responses yet.")));
  };

  function fillCanned(response) {
    $("canned-id").value = response ? String(response.id) : "";
    $("canned-name").value = response ? response.name : "";
    $("canned-team").value = response && response.team ? response.team : "";
    $("canned-language").value = response && response.language ? response.language : "";
    $("canned-text").value = response ? response.text : "";
    $("canned-submit").textContent = response ? "Save changes" : "Save response";
    $("canned-error").textContent = "";
    $("canned-name").focus();
  }

  async function deleteCanned(response) {
    if (!window.confirm(`Delete /${response.name}?`)) return;
    try { await api("DELETE", `/api/admin/canned/${response.id}`); toast(`/${response.name} deleted.`); await loaders.canned(); }
    catch (error) { toast(error.message); }
  }

  $("canned-reset").addEventListener("click", () => fillCanned(null));
  $("canned-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = $("canned-id").value;
    const body = { name: $("canned-name").value, text: $("canned-text").value,
                   team: $("canned-team").value || null, language: $("canned-language").value || null };
    try {
      await api(id ? "PUT" : "POST", id ? `/api/admin/canned/${id}` : "/api/admin/canned", body);
      toast(`/${body.name.trim().toLowerCase()} saved.`);
      fillCanned(null);
      await loaders.canned();
    } catch (error) { $("canned-error").textContent = error.message; }
  });

  // --- calendars -------------------------------------------------------------------
  loaders.calendars = async () => {
    const { calendar } = await api("GET", `/api/admin/calendars/${$("calendar-team").value}`);
    $("calendar-json").value = JSON.stringify(calendar, null, 2);
    $("calendar-error").textContent = "";
  };
  $("calendar-team").addEventListener("change", () => loaders.calendars().catch(fail("calendar-error")));
  $("calendar-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    let body;
    try { body = JSON.parse($("calendar-json").value); } catch (error) { $("calendar-error").textContent = "This is not valid JSON: " + error.message; return; }
    try {
      await api("PUT", `/api/admin/calendars/${$("calendar-team").value}`, body);
      toast(`Calendar of ${teamName($("calendar-team").value)} saved.`);
      await loaders.calendars();
    } catch (error) { $("calendar-error").textContent = error.message; }
  });

  // --- audit log ---------------------------------------------------------------------
  let oldest = null;
  async function loadAudit(more) {
    if (!more) { oldest = null; clear($("audit-rows")); if (!agentsById.size) await loadAgents(); }
    const { entries } = await api("GET", "/api/admin/audit?limit=50" + (more && oldest ? `&before_id=${oldest}` : ""));
    const rows = $("audit-rows");
    for (const entry of entries) {
      const actor = entry.actor_type === "agent" && agentsById.has(Number(entry.actor_id))
        ? agentsById.get(Number(entry.actor_id)).name : entry.actor_type === "system" ? "System" : `${entry.actor_type} ${entry.actor_id || ""}`;
      rows.appendChild(el("tr", { dataset: { action: entry.action } },
        el("td", { class: "nowrap" }, when(entry.at)), el("td", { class: "nowrap" }, actor), el("td", { class: "mono" }, entry.action),
        el("td", { class: "nowrap" }, entry.target_type ? `${entry.target_type} ${entry.target_id}` : ""),
        el("td", { class: "details" }, Object.entries(entry.details || {}).map(([key, value]) =>
          `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`).join(" · "))));
      oldest = entry.id;
    }
    if (!entries.length && !more) rows.appendChild(el("tr", {}, el("td", { colspan: "5", class: "empty" }, "Nothing recorded yet.")));
    $("audit-more").hidden = entries.length < 50;
  }
  loaders.audit = () => loadAudit(false);
  $("audit-refresh").addEventListener("click", () => loadAudit(false).catch(fail()));
  $("audit-more").addEventListener("click", () => loadAudit(true).catch(fail()));

  show();
})();
