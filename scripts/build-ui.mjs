// Builds the web app (ui/src) into ui/dist with esbuild: content-hashed assets and an index.html that names them.
import { build } from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

const out = 'ui/dist';
rmSync(out, { recursive: true, force: true });
mkdirSync(`${out}/assets`, { recursive: true });

const result = await build({
  entryPoints: ['ui/src/main.tsx'],
  bundle: true,
  minify: process.env.UI_MINIFY !== '0',
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  outdir: `${out}/assets`,
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  jsx: 'automatic',
  define: { 'process.env.NODE_ENV': '"production"' },
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs);
const script = outputs.find((file) => file.endsWith('.js'));
const style = outputs.find((file) => file.endsWith('.css'));
if (!script) throw new Error('esbuild produced no JavaScript bundle');

writeFileSync(
  `${out}/index.html`,
  `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Atlas Automations</title>
    <link rel="icon" href="data:," />
${style ? `    <link rel="stylesheet" href="/ui/assets/${basename(style)}" />\n` : ''}    <script type="module" src="/ui/assets/${basename(script)}"></script>
  </head>
  <body>
    <div id="root"></div>
  </body>
</html>
`,
);
const size = (file) => (result.metafile.outputs[file].bytes / 1024).toFixed(0);
console.log(
  `built ui/dist: ${basename(script)} (${size(script)} KiB)${style ? `, ${basename(style)} (${size(style)} KiB)` : ''}`,
);
