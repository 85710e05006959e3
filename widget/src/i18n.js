// The widget's own interface text: one catalog per language (widget/catalog/),
// bundled at build time, English as the fallback for every key.
import CATALOG from "widget-catalog";

const RTL = new Set(["ar", "he", "fa", "ur"]);
// Old or alternative primary subtags that browsers still send.
const ALIASES = { iw: "he", in: "id", nb: "no", nn: "no", fil: "tl" };

export function languageCode(tag) {
  const primary = String(tag || "").toLowerCase().split(/[-_]/)[0];
  return ALIASES[primary] || primary;
}

export function hasCatalog(code) {
  return Object.prototype.hasOwnProperty.call(CATALOG, code);
}

export function isRtl(code) {
  return RTL.has(code);
}

// Return t(key, params) for a language; {name} placeholders are filled in as text.
export function translator(code) {
  const texts = hasCatalog(code) ? CATALOG[code] : CATALOG.en;
  return (key, params = {}) => {
    let text = texts[key] || CATALOG.en[key] || key;
    for (const [name, value] of Object.entries(params)) text = text.split(`{${name}}`).join(String(value));
    return text;
  };
}
