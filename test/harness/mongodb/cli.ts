/**
 * `tsx test/harness/mongodb/cli.ts [--port <p>] [--ttl-sweep-ms <ms>]`: starts the MongoDB wire-protocol
 * test server (server.ts), prints exactly `mongodb://127.0.0.1:<port>` on one line when it is ready,
 * and runs until SIGTERM or SIGINT, which close it cleanly (exit 0). A test server, not MongoDB.
 */
import { startMongoTestServer } from './server.js';

function option(name: string): number | undefined {
  const i = process.argv.indexOf(name);
  if (i === -1) return undefined;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) {
    process.stderr.write(`${name} needs a non-negative integer, got ${process.argv[i + 1] ?? '(nothing)'}\n`);
    process.exit(2);
  }
  return v;
}

const server = await startMongoTestServer({ port: option('--port'), ttlSweepMs: option('--ttl-sweep-ms') });
process.stdout.write(`${server.url}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  server.close().then(() => process.exit(0), () => process.exit(1));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
