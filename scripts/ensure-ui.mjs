// Builds the web app when ui/dist is missing or older than its sources, so `npm start` and the tests serve a current
// bundle from a fresh clone with no other step.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

export function ensureUi() {
  const built = join(root, 'ui/dist/index.html');
  const sources = [join(root, 'ui/src'), join(root, 'package-lock.json'), join(root, 'scripts/build-ui.mjs')];
  if (existsSync(built) && statSync(built).mtimeMs >= Math.max(...sources.map(newest))) return false;
  execFileSync(process.execPath, [join(root, 'scripts/build-ui.mjs')], { cwd: root, stdio: 'inherit' });
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) ensureUi();
