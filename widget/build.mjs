// Build the widget into chatserver/static/widget/widget.js, the file the
// server serves at /widget.js and the one committed to the repository.
//   node build.mjs          build and write the bundle
//   node build.mjs --check  build in memory; fail if the committed bundle differs
//                           or the bundle is over its size budget
import { readFileSync, readdirSync } from "node:fs";
import { writeFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const output = join(here, "..", "chatserver", "static", "widget", "widget.js");
const BUDGET_GZIP = 60 * 1024;
const pkg = JSON.parse(readFileSync(join(here, "package.json"), "utf8"));
const socketio = JSON.parse(readFileSync(join(here, "node_modules", "socket.io-client", "package.json"), "utf8"));

// widget/catalog/<language>.json -> one object, languages and keys sorted.
const catalogPlugin = {
  name: "widget-catalog",
  setup(build) {
    build.onResolve({ filter: /^widget-catalog$/ }, () => ({ path: join(here, "catalog"), namespace: "catalog" }));
    build.onLoad({ filter: /.*/, namespace: "catalog" }, ({ path }) => {
      const english = JSON.parse(readFileSync(join(path, "en.json"), "utf8"));
      const catalog = {};
      for (const file of readdirSync(path).filter((name) => name.endsWith(".json")).sort()) {
        const texts = JSON.parse(readFileSync(join(path, file), "utf8"));
        const unknown = Object.keys(texts).filter((key) => !(key in english));
        if (unknown.length) throw new Error(`catalog/${file}: keys not in en.json: ${unknown.join(", ")}`);
        catalog[file.slice(0, -5)] = Object.fromEntries(Object.keys(texts).sort().map((key) => [key, texts[key]]));
      }
      return { contents: JSON.stringify(catalog), loader: "json", watchFiles: readdirSync(path).map((f) => join(path, f)) };
    });
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
  console.log(`${summary}; matches the source`);
} else {
  await mkdir(dirname(output), { recursive: true });
  await writeFile(output, bundle);
  console.log(summary);
}
if (gzipped > BUDGET_GZIP) {
  console.error(`widget.js is over its budget of ${BUDGET_GZIP} bytes gzipped`);
  process.exit(1);
}
