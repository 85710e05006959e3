// The widget's own interface text: one catalog per language (widget/catalog/).
// English is bundled and is the fallback for every key; the other languages
// are fetched from the server when a visitor needs one, so the script stays
// small however many languages there are.
import CATALOG from "widget-catalog";

const RTL = new Set(["ar", "he", "fa", "ur"]);
// Old or alternative primary subtags that browsers still send.
const ALIASES = { iw: "he", in: "id", nb: "no", nn: "no", fil: "tl" };
const loaded = { en: CATALOG.english };
const loading = {};

export function languageCode(tag) {
  const primary = String(tag || "").toLowerCase().split(/[-_]/)[0];
  return ALIASES[primary] || primary;
}

export function hasCatalog(code) {
  return Object.prototype.hasOwnProperty.call(CATALOG.versions, code);
}

export function isLoaded(code) {
  return Object.prototype.hasOwnProperty.call(loaded, code);
}

// Fetch a language's catalog once; its URL carries the content hash, so it may be cached for good.
export function loadCatalog(server, code) {
  if (isLoaded(code)) return Promise.resolve();
  if (!hasCatalog(code)) return Promise.reject(new Error(`no catalog for ${code}`));
  if (!loading[code]) {
    loading[code] = fetch(`${server}/widget/i18n/${code}.json?v=${CATALOG.versions[code]}`, { credentials: "omit" })
      .then((response) => {
        if (!response.ok) throw new Error(`catalog ${code}: ${response.status}`);
        return response.json();
      })
      .then((texts) => {
        loaded[code] = texts;
      })
      .finally(() => {
        delete loading[code];
      });
  }
  return loading[code];
}

export function isRtl(code) {
  return RTL.has(code);
}

// Return t(key, params) for a language (English until its catalog is loaded);
// {name} placeholders are filled in as text.
export function translator(code) {
  const texts = loaded[code] || loaded.en;
  return (key, params = {}) => {
    let text = texts[key] || loaded.en[key] || key;
    for (const [name, value] of Object.entries(params)) text = text.split(`{${name}}`).join(String(value));
    return text;
  };
}
