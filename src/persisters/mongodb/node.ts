/**
 * `burr-edge/mongodb` for Node, Deno and Bun (the subpath's default condition): the same exports
 * as ./index.ts, with a `MongoDBPersister` whose `fromValues` imports the `mongodb` driver. Edge
 * runtimes and browsers get ./index.ts, which never imports it.
 */
import { MongoDBPersister as EdgeMongoDBPersister } from './persister.js';

export * from './index.js';

/** Burr's MongoDB persister; `fromValues` loads the official driver on first use. */
export class MongoDBPersister extends EdgeMongoDBPersister {
  protected static override loadDriver(): Promise<{ MongoClient: new (uri: string, options?: Record<string, unknown>) => unknown }> {
    return import('mongodb');
  }
}
