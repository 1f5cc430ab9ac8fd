/**
 * Conformance target for MongoDB over the official `mongodb` driver (Node, Deno, Bun): one
 * client per target, one collection per case. Round trips are the commands the driver sends
 * for the case's collection, counted from its command monitoring (handshakes and heartbeats
 * are not commands of the collection and are not counted).
 */
import { MongoClient, type CommandStartedEvent } from 'mongodb';
import { MongoDBPersister, type MongoClientLike } from '../../src/persisters/mongodb/index.js';
import type { ConformanceTarget } from '../../src/testing/index.js';

export interface MongoDriverTarget extends ConformanceTarget {
  close(): Promise<void>;
}

/** The collection a command addresses (`insert: "c"`, `find: "c"`, `getMore` names it in `collection`). */
function commandCollection(event: CommandStartedEvent): unknown {
  const command = event.command as Record<string, unknown>;
  return event.commandName === 'getMore' ? command.collection : command[event.commandName];
}

export function mongoDriverTarget(uri: string, server: string, database = 'burr_conformance'): MongoDriverTarget {
  const client = new MongoClient(uri, { monitorCommands: true, serverSelectionTimeoutMS: 5000 });
  // A second, unmonitored client reads storage around the persister, so inspecting is never counted.
  const inspector = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
  const counts = new Map<string, number>();
  client.on('commandStarted', (event) => {
    const collection = commandCollection(event);
    if (event.databaseName === database && typeof collection === 'string') counts.set(collection, (counts.get(collection) ?? 0) + 1);
  });
  return {
    name: `mongodb (official driver; ${server})`,
    countsRoundTrips: true,
    initializeRoundTrips: 1,
    // insertOne refused by the unique index, then one findOne to tell a retry from a conflict.
    takenKeySaveRoundTrips: 2,
    // A conditional save reads the latest step, then inserts with `follows` (insertOne cannot be
    // conditional on other documents; the key and follows indexes decide, the read refuses early and
    // cannot go: see docs/mongodb.md); a prune finds what to keep, then deletes (a filter cannot rank steps).
    sessionRoundTrips: { conditionalSave: 2, prune: 2 },
    reopens: true,
    async create({ id, storage }) {
      const collectionName = `conf_driver_${id}`;
      // One client for every case, as an application holds one; the persister does not own it.
      const build = () => new MongoDBPersister({ ...storage, client: client as unknown as MongoClientLike, dbName: database, collectionName });
      return {
        persister: build(),
        reopen: build,
        roundTrips: () => counts.get(collectionName) ?? 0,
        async inspect(partitionKey, appId) {
          const documents = await inspector
            .db(database)
            .collection(collectionName)
            .find({ partition_key: partitionKey === '' ? null : partitionKey, app_id: appId }, { sort: { sequence_id: 1 } })
            .toArray();
          return documents.map((d) => ({ sequenceId: Number(d.sequence_id), stateJson: String(d.state) }));
        },
      };
    },
    close: async () => {
      await Promise.all([client.close(), inspector.close()]);
    },
  };
}
