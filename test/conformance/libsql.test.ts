import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { describe, inject, it } from 'vitest';
import { SQLitePersister } from '../../src/persisters/libsql.js';
import { countCalls, runConformanceSuite, type ConformanceTarget } from '../../src/testing/index.js';
import { libsqlRemoteTarget } from './libsql-targets.js';

const dir = mkdtempSync(join(tmpdir(), 'burr-edge-libsql-'));

/** Embedded libSQL (`file:` or `:memory:`), round trips counted at the driver. */
function localTarget(kind: 'file' | 'memory'): ConformanceTarget {
  return {
    name: `libsql (${kind === 'file' ? 'file:' : ':memory:'})`,
    tableNames: true,
    async create({ id, tableName }) {
      const url = kind === 'file' ? `file:${join(dir, `${id}.db`)}` : ':memory:';
      const driver = createClient({ url });
      const counted = countCalls(driver, ['execute', 'batch', 'executeMultiple', 'migrate', 'transaction']);
      const table = tableName ?? 'burr_state';
      return {
        persister: new SQLitePersister({ client: counted.client, tableName: table }),
        roundTrips: counted.calls,
        async inspect(partitionKey, appId) {
          const result = await driver.execute({ sql: `SELECT sequence_id, state FROM "${table}" WHERE partition_key = ? AND app_id = ?`, args: [partitionKey, appId] });
          return result.rows.map((row) => ({ sequenceId: Number(row.sequence_id), stateJson: String(row.state) }));
        },
        async dispose() {
          driver.close();
        },
      };
    },
  };
}

runConformanceSuite(localTarget('file'), { describe, it });
runConformanceSuite(localTarget('memory'), { describe, it });
runConformanceSuite(libsqlRemoteTarget(inject('harness')), { describe, it });
