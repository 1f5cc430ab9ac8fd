/**
 * A read-only `StateLoader` over Burr's local tracking directory — what Burr's
 * `LocalTrackingClient` writes for the Burr UI (`~/.burr/<project>/<app_id>/log.jsonl`,
 * `metadata.json`) — with the semantics of Burr's `LocalTrackingClient.load`, plus a working
 * `listAppIds` (Burr's returns `[]`). Node, Deno and Bun (it reads files with `node:fs`).
 *
 * @example
 * ```ts
 * import { BurrTrackingLoader } from 'burr-edge/tracking';
 * const loader = new BurrTrackingLoader({ storageDir: '~/.burr', project: 'chatbot' });
 * const apps = await loader.listAppIds('user-a');          // from each app's metadata.json
 * const latest = await loader.load('user-a', apps[0]!);    // the last logged step
 * const first = await loader.load('user-a', apps[0]!, 0);  // a given sequence id
 * ```
 */
import { open, readFile, readdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BaseStateLoader, type BasePersisterOptions, type LoadQuery, type StoredRow } from '../core/base.js';
import { InvalidArgumentError, NotInitializedError, SerializationError } from '../core/errors.js';
import { parseJson, stringifyJson, type JsonObject } from '../core/json.js';
import type { PersistedStateData, PersistedStatus } from '../core/types.js';

/** Options of `new BurrTrackingLoader({...})`. */
export interface BurrTrackingLoaderOptions extends BasePersisterOptions {
  /** Burr's `storage_dir`; a leading `~` is the home directory. @default '~/.burr' */
  storageDir?: string;
  /** Burr's `project` (the `LocalTrackingClient(project=...)` name): a directory under `storageDir`. */
  project: string;
  /** Bytes read from a log per read call. @default 65536 */
  chunkBytes?: number;
}

/** One `end_entry` of a log, as much of it as the loader needs. */
interface EndEntry {
  sequenceId: number;
  /** The whole line, parsed again losslessly only for the step that is returned. */
  text: string;
}

const LOG = 'log.jsonl';
const METADATA = 'metadata.json';

/**
 * Burr's tracking logs as a loader. What `load` returns is what Burr's `LocalTrackingClient.load`
 * returns: the step's `end_entry` (the last one logged, or the last one with the sequence id
 * asked for), its state without Burr's `__` fields and with `__SEQUENCE_ID` put back, the action
 * as `position`, `failed` when the step raised, the log file's change time as `createdAt`; a
 * sequence id never logged fails with `InvalidArgumentError` carrying Burr's message
 * (`Sequence number 5 not found for chatbot/app-1.`).
 *
 * Where Burr's is unimplemented or fragile, this loader chooses (docs/decisions.md):
 * `listAppIds` reads each app's `metadata.json` (most recently written log first); an app whose
 * `metadata.json` names another partition is not found; `load(pk, null)` is the partition's most
 * recently written app's latest step; logs are streamed line by line, never read whole, and an
 * unterminated last line that does not parse (a run still writing) is skipped.
 */
export class BurrTrackingLoader extends BaseStateLoader {
  protected readonly backendName = 'burr-tracking';
  readonly #project: string;
  readonly #projectDir: string;
  readonly #chunkBytes: number;

  constructor(options: BurrTrackingLoaderOptions) {
    super(options);
    const ctx = { backend: 'burr-tracking', operation: 'construct' } as const;
    const project = options?.project;
    if (typeof project !== 'string' || project === '' || /[\\/]/.test(project) || project === '.' || project === '..') {
      throw new InvalidArgumentError('project', 'a Burr project name (one directory under storageDir) is required', ctx);
    }
    const dir = options.storageDir ?? '~/.burr';
    if (typeof dir !== 'string' || dir === '') throw new InvalidArgumentError('storageDir', 'must be a directory path', ctx);
    const chunk = options.chunkBytes ?? 65536;
    if (!Number.isSafeInteger(chunk) || chunk < 1) throw new InvalidArgumentError('chunkBytes', 'must be a positive integer', ctx);
    this.#project = project;
    this.#projectDir = join(expandHome(dir), project);
    this.#chunkBytes = chunk;
  }

  /** The project's directory (`<storageDir>/<project>`). */
  get directory(): string {
    return this.#projectDir;
  }

  protected get storageTarget(): string {
    return `project ${this.#project}`;
  }

  /** Nothing to create: Burr writes the directory. Fails with `NotInitializedError` when it is not there. */
  protected async storageInitialize(): Promise<void> {
    if (!(await this.storageIsInitialized())) {
      throw new NotInitializedError(`no Burr tracking directory at ${this.#projectDir} (run an app with LocalTrackingClient(project=${JSON.stringify(this.#project)}) first)`, this.context('initialize'));
    }
  }

  protected async storageIsInitialized(): Promise<boolean> {
    return (await statOrNull(this.#projectDir))?.isDirectory() === true;
  }

  protected async storageListAppIds(partitionKey: string, limit: number | undefined): Promise<string[]> {
    const apps = await this.#apps(partitionKey);
    return apps.slice(0, limit).map((app) => app.appId);
  }

  protected async storageSelect(query: LoadQuery): Promise<StoredRow | null> {
    let appId = query.appId;
    if (appId === null) {
      appId = (await this.#apps(query.partitionKey))[0]?.appId ?? null;
      if (appId === null) return null;
    } else if ((await this.#partitionOf(appId)) !== query.partitionKey) {
      return null;
    }
    const logPath = join(this.#projectDir, appId, LOG);
    const info = await statOrNull(logPath);
    if (!info?.isFile()) return null;
    let found: EndEntry | undefined;
    for await (const entry of this.#endEntries(logPath)) {
      if (query.sequenceId === undefined || entry.sequenceId === query.sequenceId) found = entry;
    }
    if (!found) {
      if (query.sequenceId === undefined || info.size === 0) return null; // nothing logged yet (or only a begin_entry)
      throw new InvalidArgumentError('sequenceId', `Sequence number ${query.sequenceId} not found for ${this.#project}/${appId}.`, this.context('load'));
    }
    return this.#row(query.partitionKey, appId, found, info.ctime);
  }

  /**
   * Every logged step of one app, in the log's order, each as `load` would return it (a sequence
   * id logged twice — an app resumed from an earlier step — gives its last entry). Two streaming
   * passes over the log; memory holds one line at a time.
   */
  async *steps(partitionKey: string | null | undefined, appId: string): AsyncGenerator<PersistedStateData> {
    const latest = await this.load(partitionKey, appId); // validates, checks the partition, initializes
    if (!latest) return;
    const logPath = join(this.#projectDir, appId, LOG);
    const info = await stat(logPath);
    const last = new Map<number, number>();
    let index = 0;
    for await (const entry of this.#endEntries(logPath)) last.set(entry.sequenceId, index++);
    index = 0;
    for await (const entry of this.#endEntries(logPath)) {
      if (last.get(entry.sequenceId) === index++) yield this.toPersistedData(this.#row(latest.partitionKey, appId, entry, info.ctime));
    }
  }

  /** The partition keys named by the project's apps (`''` for Burr's `None`), ascending, one page after `after`. */
  protected override async storageListPartitionKeys(limit: number, after: string | undefined): Promise<string[]> {
    const all = await this.#partitionKeys();
    return (after === undefined ? all : all.filter((key) => key > after)).slice(0, limit);
  }

  async #partitionKeys(): Promise<string[]> {
    const keys = new Set<string>();
    for (const appId of await readdir(this.#projectDir)) {
      const key = await this.#partitionOf(appId);
      if (key !== undefined && (await statOrNull(join(this.#projectDir, appId, LOG)))?.isFile()) keys.add(key);
    }
    return [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** The apps of a partition, most recently written log first. */
  async #apps(partitionKey: string): Promise<{ appId: string; at: number }[]> {
    let names: string[];
    try {
      names = await readdir(this.#projectDir);
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
    const apps: { appId: string; at: number }[] = [];
    await Promise.all(
      names.map(async (appId) => {
        if ((await this.#partitionOf(appId)) !== partitionKey) return;
        const log = await statOrNull(join(this.#projectDir, appId, LOG));
        if (log?.isFile()) apps.push({ appId, at: Number(log.mtimeMs) });
      }),
    );
    return apps.sort((a, b) => b.at - a.at || (a.appId < b.appId ? -1 : 1));
  }

  /**
   * The partition key in an app's `metadata.json` (`null` there, or no metadata file, is `''`);
   * `undefined` when `appId` is not a directory.
   */
  async #partitionOf(appId: string): Promise<string | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.#projectDir, appId, METADATA), 'utf8');
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOTDIR') return undefined;
      if (isMissing(error)) return '';
      throw error;
    }
    let metadata: unknown;
    try {
      metadata = JSON.parse(text);
    } catch {
      throw new SerializationError(`${join(appId, METADATA)} is not JSON`, this.context('load'));
    }
    const key = (metadata as { partition_key?: unknown })?.partition_key;
    return typeof key === 'string' ? key : '';
  }

  /** The `end_entry` lines of a log, streamed. */
  async *#endEntries(path: string): AsyncGenerator<EndEntry> {
    for await (const { text, lineNumber, terminated } of readLines(path, this.#chunkBytes)) {
      if (text.trim() === '') continue;
      let line: { type?: unknown; sequence_id?: unknown };
      try {
        line = JSON.parse(text) as typeof line;
      } catch {
        if (!terminated) return; // the last line of a run still writing: skipped
        throw new SerializationError(`${path}:${lineNumber} is not a JSON line`, this.context('load'));
      }
      if (line?.type !== 'end_entry') continue;
      if (typeof line.sequence_id !== 'number') throw new SerializationError(`${path}:${lineNumber}: end_entry without a sequence_id`, this.context('load'));
      yield { sequenceId: line.sequence_id, text };
    }
  }

  #row(partitionKey: string, appId: string, entry: EndEntry, changed: Date): StoredRow {
    const line = parseJson(entry.text, this.context('load')) as { action?: unknown; exception?: unknown; state?: unknown };
    const logged = line.state;
    if (typeof logged !== 'object' || logged === null || Array.isArray(logged)) {
      throw new SerializationError(`the end_entry of sequence id ${entry.sequenceId} has no state object`, this.context('load'));
    }
    const state: JsonObject = {};
    for (const [key, value] of Object.entries(logged)) if (!key.startsWith('__')) state[key] = value;
    state.__SEQUENCE_ID = entry.sequenceId;
    return {
      partitionKey,
      appId,
      sequenceId: entry.sequenceId,
      position: String(line.action),
      status: (line.exception === null || line.exception === undefined ? 'completed' : 'failed') satisfies PersistedStatus,
      stateJson: stringifyJson(state),
      createdAt: changed,
    };
  }
}

/** Lines of a file, read in chunks; invalid UTF-8 becomes U+FFFD (Burr reads with `errors="replace"`). */
async function* readLines(path: string, chunkBytes: number): AsyncGenerator<{ text: string; lineNumber: number; terminated: boolean }> {
  const file = await open(path, 'r');
  try {
    const buffer = new Uint8Array(chunkBytes);
    let pending: Uint8Array[] = [];
    let lineNumber = 0;
    const decode = (parts: Uint8Array[]): string => new TextDecoder('utf-8').decode(parts.length === 1 ? parts[0] : concat(parts));
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, chunkBytes, null);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      let start = 0;
      for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
        pending.push(chunk.slice(start, nl));
        lineNumber++;
        yield { text: decode(pending), lineNumber, terminated: true };
        pending = [];
        start = nl + 1;
      }
      if (start < bytesRead) pending.push(chunk.slice(start));
    }
    if (pending.length > 0) yield { text: decode(pending), lineNumber: lineNumber + 1, terminated: false };
  } finally {
    await file.close();
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function expandHome(dir: string): string {
  return dir === '~' || dir.startsWith('~/') ? join(homedir(), dir.slice(1)) : dir;
}

async function statOrNull(path: string): Promise<import('node:fs').Stats | null> {
  try {
    return await stat(path);
  } catch (error) {
    if (isMissing(error) || (error as { code?: unknown }).code === 'ENOTDIR') return null;
    throw error;
  }
}

function isMissing(error: unknown): boolean {
  return (error as { code?: unknown })?.code === 'ENOENT';
}
