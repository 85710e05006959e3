// Build the widget into chatserver/static/widget/widget.js, the file the
// server serves at /widget.js and the one committed to the repository.
//   node build.mjs          build and write the bundle
//   node build.mjs --check  build in memory; fail if the committed bundle differs
//                           or the bundle is over its size budget
import { readFileSync, readdirSync } from "node:fs";
import { writeFile, mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const output = join(here, "..", "chatserver", "static", "widget", "widget.js");
const catalogDir = join(here, "..", "chatserver", "static", "widget", "i18n");
// The catalogs are fetched per language, so the script itself stays small.
const BUDGET_GZIP = 40 * 1024;
const pkg = JSON.parse(readFileSync(join(here, "package.json"), "utf8"));
const socketio = JSON.parse(readFileSync(join(here, "node_modules", "socket.io-client", "package.json"), "utf8"));

// widget/catalog/<language>.json: English is bundled (the fallback for every
// key); every language, English included, is also written to
// chatserver/static/widget/i18n/<language>.json, which the widget fetches when
// a visitor needs it. The bundle knows each catalog's content hash, for URLs
// that may be cached for good.
function readCatalogs() {
  const path = join(here, "catalog");
  const english = JSON.parse(readFileSync(join(path, "en.json"), "utf8"));
  const catalogs = {};
  for (const file of readdirSync(path).filter((name) => name.endsWith(".json")).sort()) {
    const texts = JSON.parse(readFileSync(join(path, file), "utf8"));
    const unknown = Object.keys(texts).filter((key) => !(key in english));
    if (unknown.length) throw new Error(`catalog/${file}: keys not in en.json: ${unknown.join(", ")}`);
    const sorted = Object.fromEntries(Object.keys(texts).sort().map((key) => [key, texts[key]]));
    catalogs[file.slice(0, -5)] = Buffer.from(JSON.stringify(sorted), "utf8");
  }
  return catalogs;
}

const catalogs = readCatalogs();
const versions = Object.fromEntries(Object.entries(catalogs).map(
  ([code, body]) => [code, createHash("sha256").update(body).digest("hex").slice(0, 12)]));

const catalogPlugin = {
  name: "widget-catalog",
  setup(build) {
    build.onResolve({ filter: /^widget-catalog$/ }, () => ({ path: join(here, "catalog"), namespace: "catalog" }));
    build.onLoad({ filter: /.*/, namespace: "catalog" }, ({ path }) => ({
      contents: JSON.stringify({ english: JSON.parse(catalogs.en.toString("utf8")), versions }),
      loader: "json",
      watchFiles: readdirSync(path).map((f) => join(path, f)),
    }));
  },
};

// CSS is minified and bundled as a string for the shadow root.
const cssPlugin = {
  name: "css-text",
  setup(build) {
    build.onLoad({ filter: /\.css$/ }, async ({ path }) => {
      const { code } = await esbuild.transform(readFileSync(path, "utf8"), { loader: "css", minify: true });
      return { contents: code.trim(), loader: "text" };
    });
  },
};

const result = await esbuild.build({
  entryPoints: [join(here, "src", "main.js")],
  bundle: true,
  minify: true,
  format: "iife",
  platform: "browser",
  target: ["es2020"],
  charset: "utf8",
  legalComments: "none",
  banner: { js: `/*! chatserver widget ${pkg.version} | MIT | includes socket.io-client ${socketio.version} (MIT, (c) Guillermo Rauch and contributors) */` },
  define: { __WIDGET_VERSION__: JSON.stringify(pkg.version) },
  plugins: [catalogPlugin, cssPlugin],
  write: false,
  logLevel: "warning",
});
const bundle = Buffer.from(result.outputFiles[0].contents);
const gzipped = gzipSync(bundle, { level: 9 }).length;
const summary = `widget.js: ${bundle.length} bytes, ${gzipped} bytes gzipped (budget ${BUDGET_GZIP})`;

if (process.argv.includes("--check")) {
  let committed = null;
  try {
    committed = readFileSync(output);
  } catch {
    // reported below
  }
  if (!committed || !committed.equals(bundle)) {
    console.error(`chatserver/static/widget/widget.js does not match widget/src: run \`npm run build\` in widget/ and commit the result.`);
    process.exit(1);
  }
  const stale = Object.entries(catalogs).filter(([code, body]) => {
    try {
      return !readFileSync(join(catalogDir, `${code}.json`)).equals(body);
    } catch {
      return true;
    }
  }).map(([code]) => code);
  const extra = readdirSync(catalogDir).filter((name) => !(name.slice(0, -5) in catalogs));
  if (stale.length || extra.length) {
    console.error(`chatserver/static/widget/i18n/ does not match widget/catalog (${[...stale, ...extra].join(", ")}): run \`npm run build\` in widget/ and commit the result.`);
    process.exit(1);
  }
  console.log(`${summary}; matches the source`);
} else {
  await mkdir(dirname(output), { recursive: true });
  await writeFile(output, bundle);
  await rm(catalogDir, { recursive: true, force: true });
  await mkdir(catalogDir, { recursive: true });
  for (const [code, body] of Object.entries(catalogs)) await writeFile(join(catalogDir, `${code}.json`), body);
  console.log(summary);
}
if (gzipped > BUDGET_GZIP) {
  console.error(`widget.js is over its budget of ${BUDGET_GZIP} bytes gzipped`);
  process.exit(1);
}
