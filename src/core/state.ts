/**
 * Immutable application state, the TypeScript twin of Burr's `State`: every write returns a
 * new State and leaves this one as it was.
 */
import { STATE_BRAND, isStateLike } from './brand.js';
import { InvalidArgumentError } from './errors.js';
import type { JsonObject } from './json.js';
import { deserializeFields, serializeFields } from './serde.js';
import { withoutLineage } from './lineage.js';

type Fields = Record<string, unknown>;

/**
 * Immutable state of an application (Burr's `State`).
 *
 * @example
 * ```ts
 * const s = new State({ messages: [] as string[] }).append({ messages: 'hi' });
 * await persister.save({ partitionKey: 'u', appId: 'a', sequenceId: 0, position: 'greet', state: s, status: 'completed' });
 * const back = State.deserialize((await persister.load('u', 'a'))!.state);
 * ```
 */
export class State<T extends Fields = Fields> {
  readonly #fields: Readonly<T>;

  constructor(fields: T = {} as T) {
    this.#fields = Object.freeze({ ...fields });
  }

  /** The value of `key`, or `undefined`. */
  get<K extends keyof T & string>(key: K): T[K] {
    return this.#fields[key];
  }

  /** Whether the field is set. */
  has(key: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.#fields, key);
  }

  /** The field names. */
  keys(): (keyof T & string)[] {
    return Object.keys(this.#fields) as (keyof T & string)[];
  }

  /** A shallow copy of every field. */
  getAll(): T {
    return { ...this.#fields };
  }

  /** Sets fields (Burr's `update`). */
  update(fields: Partial<T> & Fields): State<T> {
    return new State({ ...this.#fields, ...fields } as T);
  }

  /** Appends one value to each named list field, creating the list when absent. */
  append(fields: Partial<Record<keyof T & string, unknown>> & Fields): State<T> {
    return this.#mapLists(fields, (list, value) => [...list, value]);
  }

  /** Appends every value of an iterable to each named list field. */
  extend(fields: Partial<Record<keyof T & string, Iterable<unknown>>> & Record<string, Iterable<unknown>>): State<T> {
    return this.#mapLists(fields, (list, values) => [...list, ...(values as Iterable<unknown>)]);
  }

  /** Adds to numeric fields (a missing field counts as 0). */
  increment(fields: Partial<Record<keyof T & string, number | bigint>> & Record<string, number | bigint>): State<T> {
    const next: Fields = { ...this.#fields };
    for (const [key, by] of Object.entries(fields)) {
      const current = next[key] ?? (typeof by === 'bigint' ? 0n : 0);
      if (typeof current !== typeof by) {
        throw new InvalidArgumentError(key, `cannot increment a ${typeof current} by a ${typeof by}`);
      }
      next[key] = (current as number) + (by as number);
    }
    return new State(next as T);
  }

  /** Removes fields (Burr's `wipe(delete=…)`). */
  delete<K extends keyof T & string>(...keys: K[]): State<Omit<T, K>> {
    const next: Fields = { ...this.#fields };
    for (const key of keys) delete next[key];
    return new State(next as Omit<T, K>);
  }

  /** Burr's `wipe`: either delete the given keys or keep only them. */
  wipe(options: { delete?: string[]; keep?: string[] }): State {
    if (options.delete && options.keep) throw new InvalidArgumentError('wipe', 'give either delete or keep, not both');
    if (options.keep) return this.subset(...options.keep);
    return this.delete(...((options.delete ?? []) as (keyof T & string)[])) as State;
  }

  /** This state with every field of `other` written over it. */
  merge(other: State): State<T> {
    return this.update(other.getAll() as Partial<T>);
  }

  /** Only the named fields (missing ones are skipped, as in Burr). */
  subset<K extends keyof T & string>(...keys: K[]): State<Pick<T, K>> {
    const next: Fields = {};
    for (const key of keys) if (this.has(key)) next[key] = this.#fields[key];
    return new State(next as Pick<T, K>);
  }

  /** The JSON-safe form Burr's persisters store (`State.serialize()` in Burr). */
  serialize(): JsonObject {
    return serializeFields(this.#fields);
  }

  /** Rebuilds a State from its serialized form, reviving tagged values. */
  static deserialize<T extends Fields = Fields>(data: Readonly<Record<string, unknown>>): State<T> {
    // A fork's lineage field is the kit's bookkeeping, not the application's state.
    return new State(deserializeFields(withoutLineage(data as JsonObject)) as T);
  }

  /** Whether `value` is a State, also one created by another copy of this package. */
  static isState(value: unknown): value is State {
    return value instanceof State || isStateLike(value);
  }

  get [Symbol.toStringTag](): string {
    return 'State';
  }

  #mapLists(fields: Fields, combine: (list: unknown[], value: unknown) => unknown[]): State<T> {
    const next: Fields = { ...this.#fields };
    for (const [key, value] of Object.entries(fields)) {
      const current = next[key] ?? [];
      if (!Array.isArray(current)) throw new InvalidArgumentError(key, 'is not a list');
      next[key] = combine(current, value);
    }
    return new State(next as T);
  }
}

Object.defineProperty(State.prototype, STATE_BRAND, { value: true });
