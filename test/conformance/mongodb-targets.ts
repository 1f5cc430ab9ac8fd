/**
 * Conformance targets for MongoDB, both transports:
 * - the official driver (`mongodb`), commands counted from the driver's own command monitoring;
 * - `fetch` to burr-edge's gateway (Data API shapes), requests counted and faults injected by
 *   an instrumented fetch. This one needs only `fetch`, so every runtime project runs it.
 *
 * Every target names the server it ran on: the harness's wire-protocol test server unless
 * MONGODB_URL pointed the harness at a real MongoDB.
 */
import { MongoDBPersister } from '../../src/persisters/mongodb/index.js';
import { instrumentFetch, type ConformanceTarget } from '../../src/testing/index.js';

export interface MongoGatewayAddresses {
  /** The gateway's base URL. */
  url: string;
  apiKey: string;
  database: string;
  /** `test server` or `real MongoDB`: shown in every test name. */
  server: string;
}

/** Every stored step of one app, read around the persister through the gateway's `find`. */
async function inspectThroughGateway(gateway: MongoGatewayAddresses, collection: string, partitionKey: string, appId: string): Promise<{ sequenceId: number; stateJson: string }[]> {
  const response = await fetch(`${gateway.url}/action/find`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', apiKey: gateway.apiKey },
    body: JSON.stringify({ dataSource: 'inspect', database: gateway.database, collection, filter: { partition_key: partitionKey === '' ? null : partitionKey, app_id: appId }, sort: { sequence_id: 1 } }),
  });
  if (!response.ok) throw new Error(`inspect: HTTP ${response.status} ${await response.text()}`);
  const { documents } = (await response.json()) as { documents: { sequence_id: number; state: string }[] };
  return documents.map((d) => ({ sequenceId: Number(d.sequence_id), stateJson: d.state }));
}

/** `MongoDBPersister.fromHttp` against the gateway, one collection per case. */
export function mongoHttpTarget(gateway: MongoGatewayAddresses): ConformanceTarget {
  return {
    name: `mongodb (HTTP to the gateway, Data API shapes; ${gateway.server})`,
    countsRoundTrips: true,
    initializeRoundTrips: 1,
    // insertOne refused by the unique index, then one findOne to tell a retry from a conflict.
    takenKeySaveRoundTrips: 2,
    // A conditional save reads the latest step, then inserts with `follows` (insertOne cannot be
    // conditional on other documents; the key and follows indexes decide, the read refuses early and
    // cannot go: see docs/mongodb.md); a prune finds what to keep, then deletes (a filter cannot rank steps).
    sessionRoundTrips: { conditionalSave: 2, prune: 2 },
    injectsFaults: true,
    reopens: true,
    async create({ id, storage }) {
      const instrumented = instrumentFetch();
      const collection = `conf_http_${id}`;
      const build = (fetchFn?: typeof fetch) =>
        MongoDBPersister.fromHttp({ ...storage, url: gateway.url, apiKey: gateway.apiKey, database: gateway.database, collection, ...(fetchFn ? { fetch: fetchFn } : {}) });
      return {
        persister: build(instrumented.fetch),
        reopen: () => build(),
        roundTrips: instrumented.requests,
        failNext: instrumented.failNext,
        inspect: (partitionKey, appId) => inspectThroughGateway(gateway, collection, partitionKey, appId),
      };
    },
  };
}
