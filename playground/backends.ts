/**
 * Builds a persister from plain configuration, for the CLI demo and the Worker example. Each
 * backend's module is imported only when chosen, so the demo never loads a driver it does not use.
 */
import type { StatePersister } from '../src/index.js';

export type ManagedPersister = StatePersister & { close(): Promise<void>; listAppIds(partitionKey: string | null | undefined, options?: { limit?: number }): Promise<string[]> };

export type BackendConfig =
  | { backend: 'libsql'; url: string; authToken?: string; tableName?: string };

export const BACKENDS = ['libsql'] as const;

/** A persister for `config`, initialized and ready. */
export async function createPersister(config: BackendConfig): Promise<ManagedPersister> {
  let persister: ManagedPersister & { initialize(): Promise<void> };
  switch (config.backend) {
    case 'libsql': {
      const { SQLitePersister } = await import('../src/persisters/libsql.js');
      persister = SQLitePersister.fromValues(config);
      break;
    }
    default:
      throw new Error(`unknown backend ${(config as { backend: string }).backend}; choose one of ${BACKENDS.join(', ')}`);
  }
  await persister.initialize();
  return persister;
}
