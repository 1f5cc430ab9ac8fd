/**
 * Where Burr's Python fixtures are: files Burr's own persisters and tracking client wrote, read in
 * place and never copied into this repository. Shared by the Node and the Deno tests, so no test
 * framework is imported here.
 *
 * Looked for, in order:
 * 1. `BURR_FIXTURES` (the `burr-python` folder itself);
 * 2. `../shared/fixtures/burr-python/` beside this checkout;
 * 3. the same beside the checkout this one was cloned from, when `origin` is a local folder
 *    (`git clone . /tmp/fresh` leaves the fixtures behind otherwise).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const checkout = fileURLToPath(new URL('../../', import.meta.url));
const besideCheckout = (root: string): string => join(root, '..', 'shared', 'fixtures', 'burr-python');

/** The folder `origin` points at, when it is a path on this machine (not a URL). */
function localOrigin(): string | undefined {
  try {
    const url = execFileSync('git', ['config', '--get', 'remote.origin.url'], { cwd: checkout, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const path = url.startsWith('file://') ? fileURLToPath(url) : url;
    if (!path || /^[\w+.-]+:\/\//.test(path) || /^[^/]+@[^/]+:/.test(path)) return undefined;
    const folder = isAbsolute(path) ? path : resolve(checkout, path);
    // `git clone path/to/checkout/.git` names the folder inside the checkout.
    return folder.endsWith(`${sep}.git`) ? dirname(folder) : folder;
  } catch {
    return undefined; // not a git checkout, or no origin
  }
}

function locate(): string {
  const given = process.env.BURR_FIXTURES;
  if (given) {
    if (existsSync(join(given, 'expected.json'))) return join(resolve(given), '/');
    throw new Error(`BURR_FIXTURES=${given} has no expected.json: point it at the burr-python fixtures folder (shared/fixtures/burr-python).`);
  }
  const candidates = [besideCheckout(checkout)];
  const origin = localOrigin();
  if (origin) candidates.push(besideCheckout(origin));
  const found = candidates.find((dir) => existsSync(join(dir, 'expected.json')));
  if (found) return join(found, '/');
  throw new Error(
    `Burr's Python fixtures are not at ${candidates.join(' or ')}. The interop, tracking and CLI tests read them in place: ` +
      'keep the checkout next to shared/ (as ../shared/fixtures/burr-python), or set BURR_FIXTURES to that folder.',
  );
}

/** The `burr-python` fixtures folder, with a trailing separator. */
export const FIXTURES_DIR = locate();
