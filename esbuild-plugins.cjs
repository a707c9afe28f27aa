// The esbuild options of every deployed bundle, shared by serverless-esbuild (serverless.yml `custom.esbuild.config`
// names this file), scripts/build-containers.ts, the cold-start benchmark and the bundle tests. Its plugin keeps the
// bundles small without changing behaviour:
//  - bullmq ships no `sideEffects` flag, so esbuild keeps every module it re-exports (a Postgres backend with 260 KB of
//    SQL among them); its ESM build is marked side-effect free so unused modules drop out.
//  - BullMQ's Lua scripts are strings full of comments and indentation; whole-line comments, `--[[ ]]` block comments
//    and leading whitespace are removed (Lua ignores them; none of BullMQ's scripts holds a multi-line string).
//  - luxon is imported as ESM by the engine and required as CommonJS by cron-parser (through BullMQ's job
//    schedulers), which would bundle it twice; every import resolves to its ESM build instead.
//  - zod's classic API re-exports all of its ~50 message locales; only English is ever used, so the locales index is
//    replaced by one that exports `en` (the default error map) alone.
//  - Code paths this engine never takes are replaced by stubs that throw if they ever were taken: BullMQ's node-redis
//    and Bun client adapters (the engine always passes ioredis clients, which BullMQ detects by `defineCommand`),
//    zod's `fromJSONSchema` (the engine only exports JSON Schema), pino's worker-thread transports (logs go to
//    stdout), and msgpackr's optional native extension (msgpackr falls back to JavaScript when it cannot load it, and
//    looking for the prebuilt binary at start costs file-system probes on every cold start).
//  - ioredis adds its ~600 command methods one by one to a class prototype, and V8 copies a class prototype's
//    property table on every addition: some 30 ms of each start. The methods are gathered in a plain object that
//    becomes that prototype's prototype instead (the same methods, inherited one level up); a test checks that the
//    rewrite still applies.
//  - The ingest functions (handlers/http/ingest.ts, handlers/eventbridge/handler.ts) create no job schedulers, the only
//    users of cron-parser (and, through it, luxon) in BullMQ; in their bundles cron-parser is a stub that throws. The
//    plugin tells them apart by the build's entry points (serverless-esbuild builds each function on its own); the
//    management API and the containers keep the real one.
// test/integration/bundles.test.ts runs the bundles end to end.
const { existsSync, readFileSync } = require('node:fs');
const path = require('node:path');

const bullmqRoot = path.dirname(require.resolve('bullmq/package.json'));
const bullmqEsm = path.join(bullmqRoot, 'dist', 'esm');
const luxonEsm = path.join(path.dirname(require.resolve('luxon/package.json')), 'build', 'es6', 'luxon.mjs');
const zodLocales = path.join(path.dirname(require.resolve('zod/package.json')), 'v4', 'locales', 'index.js');

/** Removes Lua comments and indentation from a BullMQ script module (`const content = \`...\`;`). */
function minifyLuaModule(source) {
  return source.replace(/const content = `([\s\S]*?)`;/, (_match, lua) => {
    const stripped = lua
      .replace(/--\[(=*)\[[\s\S]*?\]\1\]/g, '')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('--'))
      .join('\n');
    return `const content = \`${stripped}\n\`;`;
  });
}

/** The loop of ioredis's utils/Commander.js that defines every command on `Commander.prototype`. */
const commanderLoop = `commands.forEach(function (commandName) {
    Commander.prototype[commandName] = generateFunction(commandName, commandName, "utf8");
    Commander.prototype[commandName + "Buffer"] = generateFunction(commandName + "Buffer", commandName, null);
});`;

/**
 * Defines ioredis's command methods on a plain object made the prototype of `Commander.prototype`; returns the source
 * unchanged when the loop is not found.
 */
function fastCommanderModule(source) {
  return source.replace(
    commanderLoop,
    `const atlasBuiltinCommands = {};
commands.forEach(function (commandName) {
    atlasBuiltinCommands[commandName] = generateFunction(commandName, commandName, "utf8");
    atlasBuiltinCommands[commandName + "Buffer"] = generateFunction(commandName + "Buffer", commandName, null);
});
Object.setPrototypeOf(Commander.prototype, atlasBuiltinCommands);`,
  );
}

/** Modules replaced by a stub: absolute path → the stub's source. */
const stubs = new Map([
  [
    path.join(bullmqEsm, 'classes', 'node-redis-client.js'),
    `export function createNodeRedisClient() { throw new Error('node-redis clients are not bundled; pass an ioredis client'); }`,
  ],
  [
    path.join(bullmqEsm, 'classes', 'bun-redis-client.js'),
    `export function createBunRedisClient() { throw new Error('Bun Redis clients are not bundled; pass an ioredis client'); }`,
  ],
  [
    path.join(path.dirname(zodLocales), '..', 'classic', 'from-json-schema.js'),
    `export function fromJSONSchema() { throw new Error('z.fromJSONSchema is not bundled'); }`,
  ],
  [
    require.resolve('thread-stream', { paths: [path.dirname(require.resolve('pino'))] }),
    `module.exports = class ThreadStream { constructor() { throw new Error('pino transports are not bundled; logs go to stdout'); } };`,
  ],
]);

/** Modules replaced by a stub in the ingest functions' bundles only. */
const ingestStubs = new Map([
  [
    require.resolve('cron-parser'),
    `export const CronExpressionParser = { parse() { throw new Error('cron-parser is not bundled in the ingest functions, which create no job schedulers'); } };`,
  ],
]);

/** Entry points of the ingest functions, which never create job schedulers. */
const ingestEntries = new Set(
  ['handlers/http/ingest.ts', 'handlers/eventbridge/handler.ts'].map((entry) => path.join(__dirname, entry)),
);

/** Whether every entry point of a build is an ingest function. */
function buildsIngestOnly(options) {
  const entries = options.entryPoints ?? [];
  const files = (Array.isArray(entries) ? entries : Object.values(entries)).map((entry) =>
    path.resolve(options.absWorkingDir ?? process.cwd(), typeof entry === 'string' ? entry : entry.in),
  );
  return files.length > 0 && files.every((file) => ingestEntries.has(file));
}

function resolveRelative(resolveDir, request) {
  const base = path.join(resolveDir, request);
  for (const candidate of [base, `${base}.js`, path.join(base, 'index.js')]) {
    if (candidate.endsWith('.js') && existsSync(candidate)) return candidate;
  }
  return undefined;
}

const leanDependencies = {
  name: 'atlas-lean-dependencies',
  setup(build) {
    const stubbed = buildsIngestOnly(build.initialOptions) ? new Map([...stubs, ...ingestStubs]) : stubs;
    build.onResolve({ filter: /^bullmq$/ }, () => ({
      path: path.join(bullmqEsm, 'index.js'),
      sideEffects: false,
    }));
    build.onResolve({ filter: /^luxon$/ }, () => ({ path: luxonEsm }));
    build.onResolve({ filter: /^msgpackr-extract$/ }, () => ({
      path: 'msgpackr-extract',
      namespace: 'atlas-stub',
    }));
    build.onLoad({ filter: /.*/, namespace: 'atlas-stub' }, () => ({
      contents: `throw new Error('the native msgpackr-extract is not bundled');`,
      loader: 'js',
    }));
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.resolveDir.startsWith(bullmqEsm)) {
        const resolved = resolveRelative(args.resolveDir, args.path);
        return resolved ? { path: resolved, sideEffects: false } : undefined;
      }
      if (args.resolveDir.startsWith(path.dirname(zodLocales)) || !args.path.includes('locales'))
        return undefined;
      const resolved = resolveRelative(args.resolveDir, args.path);
      return resolved === zodLocales ? { path: zodLocales, namespace: 'atlas-zod-locales' } : undefined;
    });
    build.onLoad({ filter: /.*/, namespace: 'atlas-zod-locales' }, () => ({
      contents: `export { default as en } from ${JSON.stringify(path.join(path.dirname(zodLocales), 'en.js'))};`,
      loader: 'js',
      resolveDir: path.dirname(zodLocales),
    }));
    build.onLoad({ filter: /\.js$/ }, (args) =>
      stubbed.has(args.path) ? { contents: stubbed.get(args.path), loader: 'js' } : undefined,
    );
    build.onLoad({ filter: /[\\/]ioredis[\\/]built[\\/]utils[\\/]Commander\.js$/ }, (args) => ({
      contents: fastCommanderModule(readFileSync(args.path, 'utf8')),
      loader: 'js',
    }));
    build.onLoad({ filter: /[\\/]bullmq[\\/]dist[\\/]esm[\\/]scripts[\\/][^\\/]+\.js$/ }, (args) => ({
      contents: minifyLuaModule(readFileSync(args.path, 'utf8')),
      loader: 'js',
    }));
  },
};

/**
 * The esbuild options of every deployed bundle: the Lambda functions (through {@link serverlessEsbuildConfig}), the
 * containers (scripts/build-containers.ts), the cold-start benchmark and the bundle tests. The banner gives ESM bundles
 * the `require` that bundled CommonJS modules call.
 */
const deployedBuildOptions = {
  bundle: true,
  minify: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  mainFields: ['module', 'main'],
  legalComments: 'none',
  plugins: [leanDependencies],
  banner: {
    js: "import { createRequire as __atlasCreateRequire } from 'module'; const require = __atlasCreateRequire(import.meta.url);",
  },
};

/**
 * serverless-esbuild's `custom.esbuild.config`: it calls this with the Serverless instance and uses the result in
 * place of `custom.esbuild`, over its own defaults. The deployed options, plus what only the Lambda packages take:
 * linked source maps, `.mjs` handler files, and no module left out of the bundle (serverless-esbuild's `exclude`
 * defaults to `aws-sdk`).
 */
function serverlessEsbuildConfig() {
  return { ...deployedBuildOptions, sourcemap: 'linked', outputFileExtension: '.mjs', exclude: [] };
}

module.exports = serverlessEsbuildConfig;
module.exports.deployedBuildOptions = deployedBuildOptions;
module.exports.minifyLuaModule = minifyLuaModule;
module.exports.fastCommanderModule = fastCommanderModule;
