/**
 * Conformance targets that need nothing but `fetch` and an address, so every runtime project
 * (node, edge, workerd, browser, Deno) builds them the same way.
 */
import { createClient } from '@libsql/client/web';
import { SQLitePersister, type LibsqlClientLike } from '../../src/persisters/libsql.js';
import { countCalls, instrumentFetch, type ConformanceTarget } from '../../src/testing/index.js';

/**
 * An embedded libSQL database (`file:` or `:memory:`), round trips counted at the driver. The
 * native driver's `createClient` is passed in, so this module stays importable where only the
 * web build exists (workerd, the browser).
 */
export function libsqlLocalTarget(name: string, urlFor: (id: string) => string, makeClient: (config: { url: string }) => LibsqlClientLike): ConformanceTarget {
  return {
    name,
    tableNames: true,
    countsRoundTrips: true,
    reopens: true,
    initializeRoundTrips: 1, // one write batch
    async create({ id, tableName, storage }) {
      const driver = makeClient({ url: urlFor(id) });
      const counted = countCalls(driver, ['execute', 'batch']);
      const table = tableName ?? 'burr_state';
      return {
        persister: new SQLitePersister({ ...storage, client: counted.client, tableName: table }),
        reopen: () => new SQLitePersister({ ...storage, client: counted.client, tableName: table }),
        roundTrips: counted.calls,
        async inspect(partitionKey, appId) {
          const result = await driver.execute({ sql: `SELECT sequence_id, state FROM "${table}" WHERE partition_key = ? AND app_id = ?`, args: [partitionKey, appId] });
          return Array.from(result.rows, (row) => ({ sequenceId: Number(row.sequence_id), stateJson: String(row.state) }));
        },
        async dispose() {
          driver.close();
        },
      };
    },
  };
}

export interface RemoteAddresses {
  hranaUrl: string;
  hranaToken: string;
}

/** libSQL over HTTP (Hrana) through the unmodified `@libsql/client/web`, fetch instrumented. */
export function libsqlRemoteTarget(addresses: RemoteAddresses): ConformanceTarget {
  return {
    name: 'libsql (remote, @libsql/client/web over HTTP)',
    tableNames: true,
    countsRoundTrips: true,
    reopens: true,
    initializeRoundTrips: 1, // one write batch
    injectsFaults: true,
    async create({ id, tableName, storage }) {
      const instrumented = instrumentFetch();
      const client = createClient({ url: addresses.hranaUrl, authToken: addresses.hranaToken, fetch: instrumented.fetch });
      const raw = createClient({ url: addresses.hranaUrl, authToken: addresses.hranaToken });
      const table = tableName ?? `t_${id}`;
      const persister = new SQLitePersister({ ...storage, client, tableName: table });
      return {
        persister,
        reopen: () => new SQLitePersister({ ...storage, client: raw, tableName: table }),
        roundTrips: instrumented.requests,
        failNext: instrumented.failNext,
        async inspect(partitionKey, appId) {
          const result = await raw.execute({ sql: `SELECT sequence_id, state FROM "${table}" WHERE partition_key = ? AND app_id = ?`, args: [partitionKey, appId] });
          return result.rows.map((row) => ({ sequenceId: Number(row.sequence_id), stateJson: String(row.state) }));
        },
        async dispose() {
          client.close();
          raw.close();
        },
      };
    },
  };
}
