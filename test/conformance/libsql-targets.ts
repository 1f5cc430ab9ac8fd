/**
 * Conformance targets that need nothing but `fetch` and an address, so every runtime project
 * (node, edge, workerd, browser, Deno) builds them the same way.
 */
import { createClient } from '@libsql/client/web';
import { SQLitePersister } from '../../src/persisters/libsql.js';
import { instrumentFetch, type ConformanceTarget } from '../../src/testing/index.js';

export interface RemoteAddresses {
  hranaUrl: string;
  hranaToken: string;
}

/** libSQL over HTTP (Hrana) through the unmodified `@libsql/client/web`, fetch instrumented. */
export function libsqlRemoteTarget(addresses: RemoteAddresses): ConformanceTarget {
  return {
    name: 'libsql (remote, @libsql/client/web over HTTP)',
    tableNames: true,
    async create({ id, tableName }) {
      const instrumented = instrumentFetch();
      const client = createClient({ url: addresses.hranaUrl, authToken: addresses.hranaToken, fetch: instrumented.fetch });
      const raw = createClient({ url: addresses.hranaUrl, authToken: addresses.hranaToken });
      const table = tableName ?? `t_${id}`;
      const persister = new SQLitePersister({ client, tableName: table });
      return {
        persister,
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
