// The floating widget: a launcher and a panel inside an open Shadow DOM root,
// so the host page's styles cannot reach in and ours cannot leak out. The
// data-chat attributes are stable test hooks (README, "Widget").
import { h, icon, ICONS } from "./dom.js";
import { hasCatalog, isLoaded, isRtl, languageCode, loadCatalog, translator } from "./i18n.js";
import { Session, storeFor } from "./session.js";
import STYLES from "./styles.css";

const TYPING_EXPIRES = 15000; // an indicator whose "stopped" never came
const LANGUAGE_SETTLE = 300; // arrow keys through the languages reconnect once
const NEAR_BOTTOM = 80;
const MAX_INPUT_HEIGHT = 120;
const CONFIG_RETRY_FIRST = 1000;
const CONFIG_RETRY_MAX = 30000;
const NARROW = "(max-width: 520px)"; // as in styles.css
const VERIFY_ERRORS = new Set(["invalid_code", "code_expired", "too_many_attempts", "rate_limited"]);
const PRIORITIES = new Set(["here_and_now", "subscribed", "standard", "ai"]);

// What the view keeps about one message on screen.
class Bubble {
  constructor(sender) {
    this.sender = sender;
    this.id = null;
    this.conversationId = 0;
    this.seq = 0;
    this.clientId = null;
    this.streamId = null;
    this.state = "sent";
    this.failure = null;
    this.agentName = null;
    this.createdAt = null;
    this.who = h("span", { class: sender === "visitor" || sender === "system" ? "who sr-only" : "who" });
    this.text = h("p", { class: "text", dir: "auto" });
    this.meta = h("span", { class: "meta" });
    this.element = h("li", { class: `message ${sender}`, "data-chat": "message", "data-sender": sender },
      this.who, this.text, this.meta);
  }
}

function later(a, b) {
  return a.conversationId > b.conversationId || (a.conversationId === b.conversationId && a.seq > b.seq);
}

export class Widget {
  // identity: the token, or a function returning a fresh one; token: the first token.
  constructor({ server, identity, token, language, position }) {
    this.server = server;
    this.browserLanguages = Array.from(navigator.languages || [navigator.language]).filter(Boolean);
    this.forcedLanguage = language ? languageCode(language) : null;
    this.position = position === "left" ? "left" : "right";
    this.store = storeFor(server, token);
    this.selected = this.store.get("panel_language", null);
    this.languages = null;
    this.teams = {};
    this.urgent = null; // the Here-and-now offer: {price_cents, currency, provider}
    this.conversation = null;
    this.connection = "idle";
    this.opened = false;
    this.starting = null;
    this.retryDelay = CONFIG_RETRY_FIRST;
    this.bubbles = [];
    this.byId = new Map();
    this.byClientId = new Map();
    this.streams = new Map();
    this.finishedStreams = new Set();
    this.typers = new Map();
    this.session = new Session({
      server, identity, browserLanguages: this.browserLanguages, store: this.store,
      listener: {
        conversation: (conversation) => this.onConversation(conversation),
        message: (message) => this.onMessage(message),
        delta: (delta) => this.onDelta(delta),
        typing: (typing) => this.onTyping(typing),
        pending: (item) => this.onPending(item),
        failed: (item, error) => this.onFailed(item, error),
        connection: (state, code, message) => this.onConnection(state, code, message),
        reconnected: () => this.onReconnected(),
        identity: (identity) => this.onIdentity(identity),
      },
    });
    this.build();
    this.applyLanguage();
  }

  // --- mounting -------------------------------------------------------------
  mount(parent) {
    parent.append(this.host);
    for (const item of this.session.pending()) this.onPending(item);
    // A visitor who already talked to us hears replies on every page.
    if (this.store.get("known", false) || this.session.pending().length) this.start();
    if (this.store.get("open", false)) this.open({ focus: false });
  }

  destroy() {
    this.destroyed = true;
    clearTimeout(this.languageTimer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.hoursTimer);
    for (const timer of this.typers.values()) clearTimeout(timer);
    this.session.stop();
    this.host.remove();
  }

  build() {
    this.host = document.createElement("chatserver-widget");
    this.root = this.host.attachShadow({ mode: "open" });
    this.badge = h("span", { class: "badge", "aria-hidden": "true", hidden: true });
    this.launcher = h("button", {
      type: "button", class: "launcher", "data-chat": "launcher", "aria-haspopup": "dialog",
      "aria-expanded": "false", "aria-controls": "panel", onclick: () => (this.opened ? this.close() : this.open()),
    }, icon(ICONS.chat, 28, "when-closed"), icon(ICONS.close, 26, "when-open"), this.badge);

    this.title = h("h2", { id: "title", class: "title" });
    this.statusLine = h("span", { class: "state" });
    this.statusDetail = h("span", { class: "detail" });
    this.status = h("div", { class: "status", "data-chat": "status", role: "status" }, this.statusLine, this.statusDetail);
    this.closeButton = h("button", { type: "button", class: "icon", onclick: () => this.close() }, icon(ICONS.close, 20));
    const header = h("header", { class: "header" }, h("div", { class: "heading" }, this.title, this.status), this.closeButton);

    this.notice = h("div", { class: "notice", role: "alert", hidden: true });
    this.greeting = h("p", { class: "greeting" });
    this.hours = h("p", { class: "hours", "data-chat": "hours", hidden: true });
    this.chooseLabel = h("p", { id: "choose", class: "label" });
    this.options = h("div", { class: "languages", role: "radiogroup", "aria-labelledby": "choose",
      onkeydown: (event) => this.onOptionKey(event) });
    this.otherNote = h("p", { class: "note" });
    this.intro = h("div", { class: "intro" }, this.greeting, this.hours, this.chooseLabel, this.options, this.otherNote);
    this.log = h("ol", { class: "messages", role: "log", "aria-live": "polite" });
    this.typingLine = h("p", { class: "typing", hidden: true });
    this.body = h("div", { class: "body" }, this.intro, this.log, this.typingLine);

    this.humanButton = h("button", { type: "button", class: "human", "data-chat": "human", hidden: true,
      onclick: () => this.press(this.humanButton, () => this.session.requestHuman()) });
    this.inputLabel = h("label", { for: "input", class: "sr-only" });
    this.input = h("textarea", {
      id: "input", class: "input", "data-chat": "input", rows: 1, maxlength: 5000, dir: "auto",
      onkeydown: (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
          event.preventDefault();
          this.submit();
        }
      },
      oninput: () => {
        this.fitInput();
        this.session.typing(this.input.value.length > 0);
      },
    });
    this.sendButton = h("button", { type: "submit", class: "send", "data-chat": "send" }, icon(ICONS.send, 20));
    this.form = h("form", { class: "composer", onsubmit: (event) => { event.preventDefault(); this.submit(); } },
      this.inputLabel, this.input, this.sendButton);
    this.askAiButton = h("button", { type: "button", class: "human", "data-chat": "ask-ai", hidden: true,
      onclick: () => this.press(this.askAiButton, () => this.session.askAi()) });
    this.urgentButton = h("button", { type: "button", class: "urgent", "data-chat": "here-and-now", hidden: true,
      onclick: () => this.showOffer(true) });
    this.offerText = h("p", { class: "offer-text" });
    this.payButton = h("button", { type: "button", class: "pay", "data-chat": "pay", onclick: () => this.buyUrgent() });
    this.cancelButton = h("button", { type: "button", class: "cancel", onclick: () => this.showOffer(false) });
    this.offer = h("div", { class: "offer", "data-chat": "offer", hidden: true }, this.offerText,
      h("div", { class: "offer-buttons" }, this.payButton, this.cancelButton));
    this.offerNote = h("p", { class: "offer-note", "data-chat": "offer-note", role: "status", hidden: true });
    this.buildRating();
    this.buildVerify();
    const footer = h("footer", { class: "footer" }, this.verifyBox, this.changeButton, this.rating, this.offer, this.offerNote, this.askAiButton, this.urgentButton,
      this.humanButton, this.form);

    this.panel = h("section", {
      id: "panel", class: "panel", "data-chat": "panel", role: "dialog", "aria-labelledby": "title", hidden: true,
      onkeydown: (event) => {
        if (event.key === "Escape" && !event.isComposing) {
          event.stopPropagation();
          this.close();
        } else if (event.key === "Tab" && this.fullScreen()) {
          this.keepFocusInside(event);
        }
      },
    }, header, this.notice, this.body, footer);
    this.frame = h("div", { class: `widget ${this.position}` }, this.panel, this.launcher);
    this.root.append(h("style", { text: STYLES }), this.frame);
  }

  // --- opening --------------------------------------------------------------
  open({ focus = true } = {}) {
    if (!this.opened) {
      this.opened = true;
      this.store.set("open", true);
      this.panel.hidden = false;
      // Full screen, the panel is all there is: a modal dialog.
      this.panel.setAttribute("aria-modal", String(this.fullScreen()));
      this.frame.classList.add("open");
      this.launcher.setAttribute("aria-expanded", "true");
      this.markRead();
      this.scrollToEnd(true);
    }
    // The languages arrive with the configuration; focus waits for them.
    if (focus && this.languages) this.focusFirst();
    this.start().then(() => {
      if (focus && this.opened && !this.panel.contains(this.root.activeElement)) this.focusFirst();
    });
  }

  close() {
    if (!this.opened) return;
    this.opened = false;
    this.store.set("open", false);
    this.panel.hidden = true;
    this.frame.classList.remove("open");
    this.launcher.setAttribute("aria-expanded", "false");
    this.renderBadge();
    this.launcher.focus();
  }

  fullScreen() {
    return window.matchMedia(NARROW).matches;
  }

  keepFocusInside(event) {
    const focusable = Array.from(this.panel.querySelectorAll("button, textarea"))
      .filter((element) => !element.disabled && element.tabIndex >= 0 && element.getClientRects().length > 0);
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    const active = this.root.activeElement;
    if (event.shiftKey && active === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && active === last) {
      event.preventDefault();
      first.focus();
    }
  }

  focusFirst() {
    const option = this.options.querySelector('[tabindex="0"]');
    (this.introVisible() && option ? option : this.input).focus();
  }

  // Load the panel languages, then connect. Without them (the server is down,
  // or refuses this origin) try again, less and less often.
  start() {
    if (!this.starting) {
      clearTimeout(this.retryTimer);
      this.starting = this.loadLanguages().then(() => {
        this.retryDelay = CONFIG_RETRY_FIRST;
        if (!this.destroyed) this.session.start(this.selected);
      }, () => {
        this.starting = null;
        if (this.destroyed) return;
        this.onConnection("unavailable");
        this.retryTimer = setTimeout(() => this.start(), this.retryDelay);
        this.retryDelay = Math.min(this.retryDelay * 2, CONFIG_RETRY_MAX);
      });
    }
    return this.starting;
  }

  async loadLanguages() {
    const response = await fetch(`${this.server}/api/widget/config`, { credentials: "omit" });
    if (!response.ok) throw new Error(`config: ${response.status}`);
    const { languages, teams, here_and_now: urgent } = await response.json();
    this.languages = languages;
    this.teams = teams || {};
    this.urgent = urgent || null;
    this.scheduleHoursRefresh();
    const offered = new Set(languages.map((language) => language.code));
    if (!offered.has(this.selected)) {
      // The browser's language, when the team offers it.
      const tags = [this.forcedLanguage, ...this.browserLanguages];
      this.selected = tags.map(languageCode).find((code) => offered.has(code)) || null;
    }
    this.renderOptions();
    this.applyLanguage();
  }

  // --- languages --------------------------------------------------------------
  renderOptions() {
    this.options.textContent = "";
    this.languages.forEach((language, index) => {
      const checked = language.code === this.selected;
      this.options.append(h("button", {
        type: "button", role: "radio", class: "language", "data-chat": "language-option", "data-lang": language.code,
        lang: language.code, "aria-checked": String(checked), title: language.name,
        tabindex: checked || (!this.selected && index === 0) ? "0" : "-1",
        onclick: () => this.choose(language.code),
      }, language.native_name));
    });
  }

  choose(code, { focusInput = true } = {}) {
    this.selected = code;
    this.store.set("panel_language", code);
    for (const option of this.options.children) {
      const checked = option.dataset.lang === code;
      option.setAttribute("aria-checked", String(checked));
      option.setAttribute("tabindex", checked ? "0" : "-1");
    }
    this.applyLanguage();
    clearTimeout(this.languageTimer);
    this.languageTimer = setTimeout(() => this.session.setPanelLanguage(code), LANGUAGE_SETTLE);
    if (focusInput) this.input.focus();
  }

  onOptionKey(event) {
    const options = Array.from(this.options.children);
    const index = options.indexOf(this.root.activeElement);
    if (index < 0) return;
    const forward = isRtl(this.uiLanguage) ? "ArrowLeft" : "ArrowRight";
    const backward = isRtl(this.uiLanguage) ? "ArrowRight" : "ArrowLeft";
    let next = null;
    if (event.key === forward || event.key === "ArrowDown") next = (index + 1) % options.length;
    else if (event.key === backward || event.key === "ArrowUp") next = (index - 1 + options.length) % options.length;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = options.length - 1;
    if (next === null) return;
    event.preventDefault();
    this.choose(options[next].dataset.lang, { focusInput: false });
    options[next].focus();
  }

  // The interface speaks the chosen panel language, else the browser's, else English.
  applyLanguage() {
    const candidates = [this.forcedLanguage, this.selected, ...this.browserLanguages.map(languageCode)];
    this.uiLanguage = candidates.find((code) => code && hasCatalog(code)) || "en";
    if (!isLoaded(this.uiLanguage)) {
      // English meanwhile; the visitor's language as soon as it arrives.
      const wanted = this.uiLanguage;
      loadCatalog(this.server, wanted).then(() => {
        if (!this.destroyed && this.uiLanguage === wanted) this.applyLanguage();
      }, () => {});
    }
    const t = (this.t = translator(this.uiLanguage));
    this.frame.setAttribute("lang", this.uiLanguage);
    this.frame.setAttribute("dir", isRtl(this.uiLanguage) ? "rtl" : "ltr");
    this.title.textContent = t("title");
    this.closeButton.setAttribute("aria-label", t("close"));
    this.closeButton.title = t("close");
    this.greeting.textContent = t("greeting");
    this.chooseLabel.textContent = t("choose_language");
    this.otherNote.textContent = t("other_languages");
    this.log.setAttribute("aria-label", t("messages"));
    this.humanButton.textContent = t("human");
    this.askAiButton.textContent = t("ask_ai");
    this.cancelButton.textContent = t("here_and_now_cancel");
    this.renderHours();
    this.renderOffer();
    this.renderRatingText();
    this.renderVerifyText();
    this.inputLabel.textContent = t("input_label");
    this.input.placeholder = t("placeholder");
    this.sendButton.setAttribute("aria-label", t("send"));
    this.sendButton.title = t("send");
    this.renderStatus();
    this.renderNotice();
    this.renderTyping();
    this.renderBadge();
    for (const bubble of this.bubbles) this.paint(bubble);
  }

  // --- conversation state -----------------------------------------------------
  onConversation(conversation) {
    this.conversation = conversation;
    this.renderStatus();
  }

  renderStatus() {
    const t = this.t;
    const conversation = this.conversation;
    const details = [];
    let line;
    switch (conversation ? conversation.state : null) {
      case "queued":
        line = conversation.queue_position
          ? t("state_queued", { position: conversation.queue_position })
          : t("state_queued_waiting");
        details.push(this.waitText(conversation));
        if (PRIORITIES.has(conversation.priority)) details.push(t(`priority_${conversation.priority}`));
        if (conversation.sla_due_at) details.push(t("due", { time: this.formatDue(conversation.sla_due_at) }));
        break;
      case "active":
        line = t("state_active", { agent: conversation.agent ? conversation.agent.name : t("agent") });
        break;
      case "ai":
        line = t("state_ai");
        break;
      case "closed":
        line = t("state_closed");
        break;
      default:
        line = t("status_start");
    }
    this.statusLine.textContent = line;
    this.statusDetail.textContent = details.filter(Boolean).join(" ");
    this.statusDetail.hidden = details.length === 0;
    this.humanButton.hidden = !(conversation && conversation.state === "ai");
    const queued = Boolean(conversation && conversation.state === "queued");
    // The AI may answer while the team is closed, if the visitor wants it.
    this.askAiButton.hidden = !(queued && conversation.estimate_basis === "next_opening");
    this.urgentButton.hidden = !(queued && this.urgent && conversation.priority !== "here_and_now");
    if (this.urgentButton.hidden) this.showOffer(false);
    if (!queued || conversation.priority === "here_and_now") this.offerNote.hidden = true;
    this.renderOffer();
    this.renderRating();
    this.status.dataset.state = conversation ? conversation.state : "none";
  }

  // A button that asks the server for one change of the conversation.
  async press(button, call) {
    button.disabled = true;
    try {
      await call();
    } catch {
      this.onConnection("offline");
    } finally {
      button.disabled = false;
    }
  }

  // An honest wait: minutes only when someone who can take it is online.
  waitText(conversation) {
    const t = this.t;
    switch (conversation.estimate_basis) {
      case "capacity":
        return conversation.estimated_wait_minutes > 0
          ? t("wait_minutes", { minutes: conversation.estimated_wait_minutes })
          : t("wait_now");
      case "next_opening":
        return conversation.next_agent_expected_at
          ? t("wait_opening", { time: this.formatOpening(conversation.next_agent_expected_at) })
          : t("wait_unknown");
      case "unknown":
        return t("wait_unknown");
      default:
        return "";
    }
  }

  // The default team's hours, before the first message.
  renderHours() {
    const team = this.teams.support;
    this.hours.hidden = !team;
    if (!team) return;
    let text;
    if (team.open) text = this.t("hours_open");
    else if (team.next_open_at) text = this.t("hours_closed", { time: this.formatOpening(team.next_open_at) });
    else text = this.t("hours_closed_unknown");
    this.hours.textContent = text;
    this.hours.dataset.open = String(Boolean(team.open));
  }

  // Reload the hours when the default team next opens or closes is unknown
  // here, so refresh at the next opening and at least every hour.
  scheduleHoursRefresh() {
    clearTimeout(this.hoursTimer);
    const team = this.teams.support;
    const opening = team && !team.open && team.next_open_at ? Date.parse(team.next_open_at) - Date.now() : Infinity;
    const delay = Math.max(5000, Math.min(opening, 3600 * 1000));
    this.hoursTimer = setTimeout(() => {
      this.loadLanguages().catch(() => this.scheduleHoursRefresh());
    }, delay);
  }

  // --- rating a closed conversation ----------------------------------------------
  // --- verification: personal ID + email or a registration, then the emailed code ------------------
  buildVerify() {
    const field = (name, type, chat) => {
      const input = h("input", { type, name, class: "field", "data-chat": chat, dir: "auto", maxlength: 320 });
      const label = h("span", { class: "field-label" });
      return { input, label, row: h("label", { class: "field-row" }, label, input) };
    };
    this.fields = {
      personal_id: field("personal_id", "text", "verify-personal-id"),
      email: field("email", "email", "verify-email"),
      name: field("name", "text", "verify-name"),
      company: field("company", "text", "verify-company"),
      new_email: field("new_email", "email", "verify-new-email"),
      code: field("code", "text", "verify-code"),
    };
    this.fields.code.input.setAttribute("inputmode", "numeric");
    this.fields.code.input.setAttribute("autocomplete", "one-time-code");
    this.verifyText = h("p", { class: "offer-text" });
    this.verifyError = h("p", { class: "verify-error", "data-chat": "verify-error", role: "alert", hidden: true });
    this.verifySubmit = h("button", { type: "submit", class: "pay", "data-chat": "verify-submit" });
    this.verifySwitch = h("button", { type: "button", class: "link", "data-chat": "verify-switch",
      onclick: () => this.setVerifyMode(this.verifyMode === "sign_in" ? "register" : "sign_in") });
    this.verifyCancel = h("button", { type: "button", class: "cancel", hidden: true, onclick: () => this.setVerifyMode(null) });
    this.verifyBox = h("form", { class: "offer verify", "data-chat": "verify", hidden: true,
      onsubmit: (event) => { event.preventDefault(); this.submitVerify(); } },
    this.verifyText, ...Object.values(this.fields).map((item) => item.row), this.verifyError,
    h("div", { class: "offer-buttons" }, this.verifySubmit, this.verifyCancel), this.verifySwitch);
    this.changeButton = h("button", { type: "button", class: "link", "data-chat": "change-email", hidden: true,
      onclick: () => this.setVerifyMode("change") });
    this.verifyMode = null;
    this.verified = null;
  }

  onIdentity(identity) {
    this.verified = Boolean(identity && identity.verified);
    if (!this.verified) this.setVerifyMode(this.verifyMode && this.verifyMode !== "change" ? this.verifyMode : "sign_in");
    else if (this.verifyMode !== "change" && this.verifyMode !== "change_code") this.setVerifyMode(null);
    this.changeButton.hidden = !this.verified || this.verifyMode !== null;
  }

  // Modes: sign_in, register, code (after either), change, change_code; null hides the box.
  setVerifyMode(mode, note) {
    this.verifyMode = mode;
    const shown = { sign_in: ["personal_id", "email"], register: ["email", "name", "company"], code: ["code"],
      change: ["new_email"], change_code: ["code"] }[mode] || [];
    for (const [name, item] of Object.entries(this.fields)) item.row.hidden = !shown.includes(name);
    this.fields.code.input.value = "";
    this.verifyBox.hidden = mode === null;
    // Unverified visitors cannot write to support: the form takes the composer's place.
    this.form.hidden = !this.verified && this.verified !== null;
    this.verifySwitch.hidden = !(mode === "sign_in" || mode === "register");
    this.verifyCancel.hidden = !(mode === "change" || mode === "change_code");
    this.changeButton.hidden = !this.verified || mode !== null;
    this.verifyNote = note || null;
    this.showVerifyError(null);
    this.renderVerifyText();
    if (mode && this.opened) (this.fields[shown[0]] || {}).input?.focus();
  }

  renderVerifyText() {
    const t = this.t;
    const intro = { sign_in: "verify_intro", register: "register_intro", code: "code_sent", change: "change_intro",
      change_code: "code_sent" }[this.verifyMode];
    this.verifyText.textContent = this.verifyNote ? t(this.verifyNote) : intro ? t(intro) : "";
    for (const [name, item] of Object.entries(this.fields)) item.label.textContent = t(name);
    this.verifySubmit.textContent = t(this.verifyMode === "code" || this.verifyMode === "change_code" ? "confirm_code" : "send_code");
    this.verifySwitch.textContent = t(this.verifyMode === "register" ? "to_sign_in" : "to_register");
    this.verifyCancel.textContent = t("here_and_now_cancel");
    this.changeButton.textContent = t("change_email");
  }

  showVerifyError(message) {
    // The server's words, as text.
    this.verifyError.textContent = message || "";
    this.verifyError.hidden = !message;
  }

  async submitVerify() {
    const value = (name) => this.fields[name].input.value.trim();
    const mode = this.verifyMode;
    const requests = {
      sign_in: ["verify_start", { personal_id: value("personal_id"), email: value("email") }],
      register: ["register", { email: value("email"), name: value("name"), company: value("company") || null }],
      code: ["verify_code", { email: this.verifyEmail, code: value("code") }],
      change: ["email_change", { new_email: value("new_email") }],
      change_code: ["email_change_confirm", { code: value("code") }],
    };
    if (!requests[mode]) return;
    if (mode === "sign_in" || mode === "register") this.verifyEmail = value("email");
    this.verifySubmit.disabled = true;
    let ack;
    try {
      await this.start();
      ack = await this.session.call(...requests[mode]);
    } catch {
      this.showVerifyError(this.t("status_offline"));
      return;
    } finally {
      this.verifySubmit.disabled = false;
    }
    if (!ack.ok) {
      const code = ack.error.code;
      // Known refusals in the visitor's language; anything else in the server's words.
      this.showVerifyError(VERIFY_ERRORS.has(code) ? this.t(`error_${code}`) : ack.error.message);
      return;
    }
    if (mode === "sign_in" || mode === "register") this.setVerifyMode("code");
    else if (mode === "change") this.setVerifyMode("change_code");
    else if (mode === "change_code") {
      this.setVerifyMode(null);
      this.offerNote.dataset.key = "change_pending";
      this.offerNote.textContent = this.t("change_pending");
      this.offerNote.hidden = false;
    } else {
      this.session.setIdentity(ack.identity);
      this.input.focus();
    }
  }

  buildRating() {
    this.ratingPrompt = h("p", { id: "rate-prompt", class: "rate-prompt" });
    this.stars = h("div", { class: "stars", role: "radiogroup", "aria-labelledby": "rate-prompt" });
    for (let score = 1; score <= 5; score += 1) {
      this.stars.append(h("button", {
        type: "button", role: "radio", class: "star", "data-chat": "star", "data-score": String(score),
        "aria-checked": "false", onclick: () => this.pickScore(score),
      }, icon(ICONS.star, 26)));
    }
    this.ratingComment = h("textarea", { class: "rate-comment", "data-chat": "rate-comment", rows: 2, maxlength: 1000,
      dir: "auto" });
    this.ratingSend = h("button", { type: "button", class: "pay", "data-chat": "rate-send", disabled: true,
      onclick: () => this.sendRating() });
    this.ratingNote = h("p", { class: "offer-note", "data-chat": "rate-note", role: "status", hidden: true });
    this.ratingForm = h("div", { class: "rate-form" }, this.stars, this.ratingComment, this.ratingSend);
    this.rating = h("div", { class: "offer rating", "data-chat": "rating", hidden: true }, this.ratingPrompt,
      this.ratingForm, this.ratingNote);
    this.score = 0;
  }

  renderRatingText() {
    const t = this.t;
    this.ratingPrompt.textContent = t("rate_prompt");
    for (const star of this.stars.children) {
      const score = Number(star.dataset.score);
      star.setAttribute("aria-label", t("rate_star", { count: score }));
      star.title = t("rate_star", { count: score });
    }
    this.ratingComment.placeholder = t("rate_comment");
    this.ratingComment.setAttribute("aria-label", t("rate_comment"));
    this.ratingSend.textContent = t("rate_send");
    if (this.ratingNote.dataset.key) this.ratingNote.textContent = t(this.ratingNote.dataset.key);
  }

  // Offered once per closed conversation that a person handled; a rating sent is remembered.
  renderRating() {
    const conversation = this.conversation;
    const closed = Boolean(conversation && conversation.state === "closed");
    const rated = closed && this.store.get("rated", []).includes(conversation.id);
    if (closed && this.ratingFor !== conversation.id) {
      this.ratingFor = conversation.id;
      this.pickScore(0);
      this.ratingComment.value = "";
      this.ratingForm.hidden = false;
      this.ratingNote.hidden = true;
      delete this.ratingNote.dataset.key;
    }
    this.rating.hidden = !closed || (rated && this.ratingNote.hidden);
  }

  pickScore(score) {
    this.score = score;
    for (const star of this.stars.children) {
      const value = Number(star.dataset.score);
      star.setAttribute("aria-checked", String(value === score));
      star.classList.toggle("lit", value <= score);
    }
    this.ratingSend.disabled = score === 0;
  }

  async sendRating() {
    const conversationId = this.ratingFor;
    this.ratingSend.disabled = true;
    let key = "rate_failed";
    try {
      const ack = await this.session.rate(conversationId, this.score, this.ratingComment.value);
      if (ack.ok) {
        key = "rate_thanks";
        this.store.set("rated", [...this.store.get("rated", []), conversationId].slice(-20));
        this.ratingForm.hidden = true;
      }
    } catch {
      // Offline: the visitor may try again.
    }
    this.ratingSend.disabled = this.score === 0;
    this.ratingNote.dataset.key = key;
    this.ratingNote.textContent = this.t(key);
    this.ratingNote.hidden = false;
  }

  // --- Here and now ------------------------------------------------------------
  price() {
    const { price_cents: cents, currency } = this.urgent;
    try {
      return new Intl.NumberFormat(this.uiLanguage, { style: "currency", currency: currency.toUpperCase() })
        .format(cents / 100);
    } catch {
      return `${(cents / 100).toFixed(2)} ${currency.toUpperCase()}`;
    }
  }

  renderOffer() {
    if (!this.urgent) return;
    const price = this.price();
    this.urgentButton.textContent = this.t("here_and_now", { price });
    this.offerText.textContent = this.t("here_and_now_offer", { price });
    this.payButton.textContent = this.t("here_and_now_pay", { price });
    if (this.offerNote.dataset.key) this.offerNote.textContent = this.t(this.offerNote.dataset.key);
  }

  showOffer(visible) {
    this.offer.hidden = !visible;
    if (visible) {
      this.offerNote.hidden = true;
      this.payButton.focus();
    }
  }

  async buyUrgent() {
    this.payButton.disabled = true;
    let key;
    try {
      const ack = await this.session.hereAndNow();
      if (ack.ok && ack.payment && ack.payment.checkout_url) {
        window.open(ack.payment.checkout_url, "_blank", "noopener");
        key = "here_and_now_checkout";
      } else if (ack.ok) {
        key = "here_and_now_pending";
      } else {
        key = { no_specialist: "here_and_now_unavailable", already_paid: "here_and_now_pending" }[ack.error.code]
          || "here_and_now_failed";
      }
    } catch {
      key = "here_and_now_failed";
    } finally {
      this.payButton.disabled = false;
    }
    this.showOffer(false);
    this.offerNote.dataset.key = key;
    this.offerNote.textContent = this.t(key);
    this.offerNote.hidden = false;
  }

  onConnection(state, code, message) {
    this.connection = state;
    // A refusal that says why (a suspended account) is shown in the server's words.
    this.connectionMessage = code === "suspended" ? message : null;
    this.renderNotice();
  }

  renderNotice() {
    const keys = { offline: "status_offline", unavailable: "status_unavailable", expired: "status_expired" };
    const key = keys[this.connection];
    this.notice.hidden = !key;
    this.notice.textContent = this.connectionMessage || (key ? this.t(key) : "");
    this.frame.dataset.connection = this.connection;
  }

  // --- messages ---------------------------------------------------------------
  onPending(item) {
    if (this.byClientId.has(item.client_id)) return;
    const bubble = new Bubble("visitor");
    bubble.clientId = item.client_id;
    bubble.state = "sending";
    bubble.text.textContent = item.text;
    this.byClientId.set(item.client_id, bubble);
    this.add(bubble);
    this.scrollToEnd(true);
  }

  onFailed(item, error) {
    const bubble = this.byClientId.get(item.client_id);
    if (!bubble) return;
    bubble.state = "failed";
    bubble.failure = error.code === "too_long" ? "too_long" : "failed";
    this.paint(bubble);
    // Give the text back, so the visitor can shorten or resend it.
    if (!this.input.value) {
      this.input.value = item.text;
      this.fitInput();
    }
  }

  onMessage(message) {
    if (this.byId.has(message.id)) return;
    let bubble = null;
    if (message.sender === "visitor" && message.client_id) bubble = this.byClientId.get(message.client_id);
    if (!bubble && message.stream_id && this.streams.has(message.stream_id)) {
      bubble = this.streams.get(message.stream_id);
      this.streams.delete(message.stream_id);
    }
    const nearBottom = this.nearBottom();
    if (!bubble) {
      bubble = new Bubble(message.sender);
      this.bubbles.push(bubble);
    }
    bubble.id = message.id;
    bubble.conversationId = message.conversation_id;
    bubble.seq = message.seq || message.id; // seq orders a conversation; ids may commit out of order
    bubble.streamId = null;
    bubble.state = "sent";
    bubble.createdAt = message.created_at;
    bubble.agentName = message.agent ? message.agent.name : null;
    bubble.text.textContent = message.text;
    bubble.element.dataset.id = String(message.id);
    bubble.element.removeAttribute("aria-busy");
    delete bubble.element.dataset.streaming;
    if (message.client_id && message.sender === "visitor") this.byClientId.set(message.client_id, bubble);
    this.byId.set(message.id, bubble);
    this.place(bubble);
    this.paint(bubble);
    if (message.sender !== "visitor") this.onTyping({ sender: message.sender, typing: false });
    if (message.sender === "system" && message.event === "handed_to_humans") this.dropStreams();
    this.afterChange();
    if (this.opened) this.markRead();
    else this.renderBadge();
    this.scrollToEnd(nearBottom || message.sender === "visitor");
  }

  onDelta({ id, delta }) {
    if (this.finishedStreams.has(id) || typeof delta !== "string") return;
    let bubble = this.streams.get(id);
    const nearBottom = this.nearBottom();
    if (!bubble) {
      bubble = new Bubble("ai");
      bubble.streamId = id;
      bubble.element.dataset.streaming = "true";
      bubble.element.setAttribute("aria-busy", "true");
      this.streams.set(id, bubble);
      this.add(bubble);
    }
    bubble.text.append(delta);
    this.scrollToEnd(nearBottom);
  }

  // Unfinished replies are dropped after a failed stream or a reconnect; a
  // stream that did finish comes back whole as a message through history.
  dropStreams() {
    for (const [id, bubble] of this.streams) {
      this.finishedStreams.add(id);
      bubble.element.remove();
      this.bubbles.splice(this.bubbles.indexOf(bubble), 1);
    }
    this.streams.clear();
    this.afterChange();
  }

  onReconnected() {
    this.dropStreams();
    for (const sender of Array.from(this.typers.keys())) this.onTyping({ sender, typing: false });
  }

  add(bubble) {
    this.bubbles.push(bubble);
    this.place(bubble);
    this.paint(bubble);
    this.afterChange();
  }

  // Order on screen: stored messages by conversation and seq, then streaming
  // replies, then messages still sending.
  place(bubble) {
    const rank = (b) => (b.id !== null ? 0 : b.streamId !== null ? 1 : 2);
    const mine = rank(bubble);
    let before = null;
    for (const other of this.bubbles) {
      if (other === bubble || !other.element.isConnected) continue;
      const theirs = rank(other);
      if (theirs > mine || (theirs === mine && mine === 0 && later(other, bubble))) {
        if (!before || this.precedes(other, before)) before = other;
      }
    }
    this.log.insertBefore(bubble.element, before ? before.element : null);
  }

  precedes(a, b) {
    return Boolean(a.element.compareDocumentPosition(b.element) & Node.DOCUMENT_POSITION_FOLLOWING);
  }

  paint(bubble) {
    const t = this.t;
    const who = { visitor: t("you"), ai: t("ai"), system: "", agent: bubble.agentName || t("agent") }[bubble.sender];
    bubble.who.textContent = who || "";
    if (bubble.sender === "visitor") bubble.element.dataset.state = bubble.state;
    if (bubble.state === "sending") bubble.meta.textContent = t("sending");
    else if (bubble.state === "failed") bubble.meta.textContent = t(bubble.failure === "too_long" ? "too_long" : "failed");
    else bubble.meta.textContent = bubble.createdAt ? this.formatTime(bubble.createdAt) : "";
  }

  afterChange() {
    this.intro.hidden = !this.introVisible();
    this.log.setAttribute("aria-busy", String(this.streams.size > 0));
  }

  introVisible() {
    return this.bubbles.length === 0;
  }

  // --- typing -------------------------------------------------------------------
  onTyping({ sender, typing }) {
    if (sender !== "agent" && sender !== "ai") return;
    clearTimeout(this.typers.get(sender));
    if (typing) this.typers.set(sender, setTimeout(() => this.onTyping({ sender, typing: false }), TYPING_EXPIRES));
    else this.typers.delete(sender);
    this.renderTyping();
  }

  renderTyping() {
    const t = this.t;
    let text = "";
    if (this.typers.has("agent")) {
      const agent = this.conversation && this.conversation.agent;
      text = t("typing_agent", { name: agent ? agent.name : t("agent") });
    } else if (this.typers.has("ai")) {
      text = t("typing_ai");
    }
    this.typingLine.textContent = text;
    this.typingLine.hidden = !text;
  }

  // --- sending ----------------------------------------------------------------
  submit() {
    const text = this.input.value;
    if (!text.trim()) return;
    if (this.languageTimer) {
      // A language chosen a moment ago applies to this message.
      clearTimeout(this.languageTimer);
      this.languageTimer = null;
      this.session.setPanelLanguage(this.selected);
    }
    this.input.value = "";
    this.fitInput();
    this.start();
    this.session.send(text);
    this.input.focus();
  }

  fitInput() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, MAX_INPUT_HEIGHT)}px`;
  }

  // --- unread badge and scrolling ---------------------------------------------
  markRead() {
    const seen = this.seen();
    const newest = this.bubbles.reduce((max, b) => (b.id !== null && later(b, max) ? b : max), seen);
    if (newest !== seen) this.store.set("seen", [newest.conversationId, newest.seq]);
    this.renderBadge();
  }

  seen() {
    const [conversationId, seq] = this.store.get("seen", [0, 0]);
    return { conversationId, seq };
  }

  renderBadge() {
    const seen = this.seen();
    const unread = this.opened ? 0
      : this.bubbles.filter((b) => b.sender !== "visitor" && b.id !== null && later(b, seen)).length;
    this.badge.textContent = String(unread);
    this.badge.hidden = unread === 0;
    const label = unread ? `${this.t("open")} (${this.t("unread", { count: unread })})` : this.t("open");
    this.launcher.setAttribute("aria-label", this.opened ? this.t("close") : label);
    this.launcher.title = this.opened ? this.t("close") : this.t("open");
  }

  nearBottom() {
    return this.body.scrollHeight - this.body.scrollTop - this.body.clientHeight < NEAR_BOTTOM;
  }

  scrollToEnd(force) {
    if (force) this.body.scrollTop = this.body.scrollHeight;
  }

  // --- formatting ---------------------------------------------------------------
  formatTime(iso) {
    try {
      return new Intl.DateTimeFormat(this.uiLanguage, { hour: "2-digit", minute: "2-digit" }).format(new Date(iso));
    } catch {
      return "";
    }
  }

  // A day and time on the visitor's own clock: the browser formats in its time zone.
  // Only the time when it is later today; a bare "09:00" for tomorrow would read as today.
  formatOpening(iso) {
    try {
      const date = new Date(iso);
      const today = date.toDateString() === new Date().toDateString();
      const options = today ? { hour: "2-digit", minute: "2-digit" }
        : { weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit" };
      return new Intl.DateTimeFormat(this.uiLanguage, options).format(date);
    } catch {
      return iso;
    }
  }

  formatDue(iso) {
    try {
      return new Intl.DateTimeFormat(this.uiLanguage, { weekday: "short", hour: "2-digit", minute: "2-digit" })
        .format(new Date(iso));
    } catch {
      return iso;
    }
  }
}
