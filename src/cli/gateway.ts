/**
 * `burr-edge mongodb-gateway`: runs burr-edge's MongoDB gateway (`burr-edge/mongodb-gateway`)
 * until SIGINT or SIGTERM. The connection string comes from MONGODB_URL and the API keys from
 * BURR_EDGE_GATEWAY_API_KEYS — the environment, never the command line, where `ps` shows them.
 */
import type { Command } from 'commander';
import type { CliIo } from './main.js';
import { CliError, positiveInt } from './stores.js';

const HELP = `
Environment:
  MONGODB_URL                   the MongoDB connection string (never printed)
  BURR_EDGE_GATEWAY_API_KEYS    accepted apiKey header values, comma-separated, each 16+ characters

Prints the gateway's base URL on one line when it is ready, then one JSON line per request on
stderr (action, status, errorCode, milliseconds; no body, key or connection string).

Examples:
  $ MONGODB_URL=mongodb://127.0.0.1:27017 BURR_EDGE_GATEWAY_API_KEYS=$(openssl rand -hex 24) \\
      burr-edge mongodb-gateway --port 8080 --database burr --collection burr_state
  $ burr-edge mongodb-gateway --host 0.0.0.0 --port 8080 --database burr --collection a,b --cors-origin https://app.example.com`;

interface GatewayFlags {
  port: number;
  host: string;
  database: string;
  collection: string;
  corsOrigin?: string;
  maxRequestBytes?: number;
  maxResultBytes?: number;
  maxResultDocuments?: number;
  quiet?: boolean;
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignalled(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

export function addGatewayCommand(root: Command, io: CliIo): void {
  root
    .command('mongodb-gateway')
    .description("serve MongoDB Atlas's retired Data API request shapes for one database, for burr-edge's fetch transport")
    .requiredOption('--database <name>', 'the one database served')
    .requiredOption('--collection <names>', 'the collection(s) served, comma-separated')
    .option('--port <n>', 'port to listen on (0: any free one)', (v) => positiveInt(v, '--port', true), 8080)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--cors-origin <origin>', "answer browsers' CORS preflights for this origin ('*' for any)")
    .option('--max-request-bytes <n>', 'largest request body (default 17 MiB)', (v) => positiveInt(v, '--max-request-bytes'))
    .option('--max-result-bytes <n>', 'largest response body (default 32 MiB)', (v) => positiveInt(v, '--max-result-bytes'))
    .option('--max-result-documents <n>', 'most documents find and aggregate return (default 1000)', (v) => positiveInt(v, '--max-result-documents'))
    .option('--quiet', 'no request log')
    .addHelpText('after', HELP)
    .action(async (flags: GatewayFlags) => {
      const uri = io.env.MONGODB_URL;
      if (!uri) throw new CliError('set MONGODB_URL to the MongoDB connection string');
      const apiKeys = (io.env.BURR_EDGE_GATEWAY_API_KEYS ?? '').split(',').map((k) => k.trim()).filter(Boolean);
      if (apiKeys.length === 0) throw new CliError('set BURR_EDGE_GATEWAY_API_KEYS to the accepted API keys (comma-separated; e.g. $(openssl rand -hex 24))');
      if (apiKeys.some((k) => k.length < 16)) throw new CliError('every key in BURR_EDGE_GATEWAY_API_KEYS must have at least 16 characters');
      try {
        await import('mongodb');
      } catch {
        throw new CliError('the gateway needs the `mongodb` package, which is not installed: npm install mongodb');
      }
      const { startMongoDBGateway } = await import('../gateway/mongodb.js');
      let gateway: Awaited<ReturnType<typeof startMongoDBGateway>>;
      try {
        gateway = await startMongoDBGateway({
          uri,
          database: flags.database,
          collection: flags.collection.split(',').map((c) => c.trim()).filter(Boolean),
          apiKeys,
          host: flags.host,
          port: flags.port,
          ...(flags.corsOrigin ? { corsOrigin: flags.corsOrigin } : {}),
          ...(flags.maxRequestBytes ? { maxRequestBytes: flags.maxRequestBytes } : {}),
          ...(flags.maxResultBytes ? { maxResultBytes: flags.maxResultBytes } : {}),
          ...(flags.maxResultDocuments ? { maxResultDocuments: flags.maxResultDocuments } : {}),
          ...(flags.quiet ? {} : { log: (entry) => void io.stderr.write(`${JSON.stringify(entry)}\n`) }),
        });
      } catch (error) {
        if ((error as { code?: unknown })?.code === 'EADDRINUSE') throw new CliError(`${flags.host}:${flags.port} is in use: choose another --port (0 picks a free one)`);
        throw new CliError(error instanceof Error ? error.message.replace(/^createMongoDBGatewayHandler: /, '') : String(error));
      }
      io.stdout.write(`${gateway.url}\n`);
      await untilSignalled();
      await gateway.close();
    });
}
