// Bundles the container entry points (worker, scheduler) into dist/containers with the esbuild options and plugins
// of the Lambda functions (esbuild-plugins.cjs); the Dockerfile copies that folder into the image.
// Run: npm run build:containers
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build, type BuildOptions } from 'esbuild';

const require = createRequire(import.meta.url);
const { deployedBuildOptions } = require('../esbuild-plugins.cjs') as { deployedBuildOptions: BuildOptions };

const outdir = 'dist/containers';
const entries = {
  'worker/main': 'handlers/worker/main.ts',
  // The ECS scheduler service runs scheduler/main.mjs from the same image.
  'scheduler/main': 'handlers/scheduler/main.ts',
};

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  ...deployedBuildOptions,
  entryPoints: entries,
  outdir,
  outExtension: { '.js': '.mjs' },
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
});
for (const [file, output] of Object.entries(result.metafile.outputs))
  if (file.endsWith('.mjs')) console.log(`${file}  ${(output.bytes / 1024).toFixed(0)} KiB`);
