// The embed: <script src="https://HOST/widget.js" data-identity="JWT" async></script>
// or, for single-page apps, window.ChatWidget.boot({identity, ...}). Without an identity
// (data-verify, or boot({})) visitors verify themselves in the widget: personal ID and
// email, or a registration, then a code sent by email.
import { Widget } from "./view.js";

const script = document.currentScript;
// The server is where this script came from, unless boot() names another.
const scriptOrigin = script && script.src ? new URL(script.src, location.href).origin : location.origin;
let widget = null;
let boots = 0;

// identity: the token the host site signed for this visitor, or a function
// returning one (or a promise of one), called again whenever the widget
// reconnects, for sites whose tokens expire. Boot again for another visitor.
function boot(options = {}) {
  shutdown();
  const generation = ++boots;
  const create = (token) => {
    if (generation !== boots) return; // booted again meanwhile
    widget = new Widget({
      server: String(options.server || scriptOrigin).replace(/\/+$/, ""),
      identity: options.identity,
      token,
      language: options.language,
      position: options.position,
    });
    widget.mount(options.container || document.body);
    if (options.open) widget.open();
  };
  if (typeof options.identity === "function") {
    Promise.resolve().then(options.identity).then(create, (error) => console.error("ChatWidget: identity", error));
  } else {
    create(options.identity);
  }
  return api;
}

function shutdown() {
  boots += 1;
  if (widget) widget.destroy();
  widget = null;
}

const api = Object.freeze({
  version: __WIDGET_VERSION__,
  boot,
  shutdown,
  open: () => widget && widget.open(),
  close: () => widget && widget.close(),
});

// A second copy of the script on one page leaves the first in charge.
if (!(window.ChatWidget && window.ChatWidget.version)) {
  window.ChatWidget = api;
  const data = script ? script.dataset : {};
  const fromTag = () => boot({ identity: data.identity, server: data.server, language: data.language, position: data.position });
  if (data.identity || data.verify !== undefined) {
    if (document.body) fromTag();
    else document.addEventListener("DOMContentLoaded", fromTag, { once: true });
  }
  window.dispatchEvent(new CustomEvent("chatwidget:ready", { detail: api }));
}
