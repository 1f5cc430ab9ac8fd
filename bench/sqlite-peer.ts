/**
 * LangGraph.js's SqliteSaver, installed apart from the project (bench/sqlite-peer/, from its own
 * lockfile) on first use. Its better-sqlite3 has no prebuilt binary here and compiles with
 * node-gyp, which downloads Node's headers unless told where they are: were it a dev dependency
 * of the project, `npm ci` of a clean clone would fail on a machine without those headers.
 * Here a failed build costs only this row, which then says why.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dir = fileURLToPath(new URL('./sqlite-peer/', import.meta.url));

/** The slice of better-sqlite3's Database the bench uses. */
export interface SqliteDatabaseLike {
  prepare(source: string): { run(...a: unknown[]): unknown; get(...a: unknown[]): unknown; all(...a: unknown[]): unknown[] };
  close(): void;
}

export type SqlitePeer =
  | { Database: new (file: string) => SqliteDatabaseLike; SqliteSaver: new (db: SqliteDatabaseLike) => unknown; betterSqliteVersion: string; saverVersion: string }
  | { reason: string };

function install(): void {
  // Node's own headers, when this Node ships them (Debian/NodeSource put them in <prefix>/include/node).
  const prefix = dirname(dirname(process.execPath));
  const env = { ...process.env };
  if (existsSync(join(prefix, 'include', 'node', 'node.h'))) env.npm_config_nodedir = prefix;
  process.stderr.write('installing LangGraph SqliteSaver into bench/sqlite-peer/ (better-sqlite3 compiles, ~1 min)…\n');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
}

export async function loadSqlitePeer(): Promise<SqlitePeer> {
  const modules = join(dir, 'node_modules');
  try {
    if (!existsSync(join(modules, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'))) install();
    const version = (pkg: string) => (JSON.parse(readFileSync(join(modules, pkg, 'package.json'), 'utf8')) as { version: string }).version;
    const saver = (await import(pathToFileURL(join(modules, '@langchain', 'langgraph-checkpoint-sqlite', 'dist', 'index.js')).href)) as { SqliteSaver: new (db: SqliteDatabaseLike) => unknown };
    const database = (await import(pathToFileURL(join(modules, 'better-sqlite3', 'lib', 'index.js')).href)) as { default: new (file: string) => SqliteDatabaseLike };
    return { Database: database.default, SqliteSaver: saver.SqliteSaver, betterSqliteVersion: version('better-sqlite3'), saverVersion: version('@langchain/langgraph-checkpoint-sqlite') };
  } catch (error) {
    const detail = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message ?? error).trim().split('\n').filter(Boolean).slice(-2).join(' ');
    return { reason: `better-sqlite3 (its dependency) could not be built or loaded here: ${detail.slice(0, 200)}` };
  }
}
