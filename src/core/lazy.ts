/**
 * A client given directly or as a factory called on first use (so `fromValues` can stay
 * synchronous while the driver is imported lazily). A failed factory call is retried next time.
 */
export class LazyClient<T> {
  #value: T | undefined;
  #pending: Promise<T> | undefined;
  readonly #factory: (() => Promise<T>) | undefined;

  constructor(source: T | (() => Promise<T>)) {
    if (typeof source === 'function') this.#factory = source as () => Promise<T>;
    else this.#value = source;
  }

  get(): Promise<T> | T {
    if (this.#value !== undefined) return this.#value;
    this.#pending ??= this.#factory!().then(
      (value) => (this.#value = value),
      (error: unknown) => {
        this.#pending = undefined;
        throw error;
      },
    );
    return this.#pending;
  }

  /**
   * The client once a creation in progress has finished, without starting one; `undefined` when
   * it was never made (or failed). `close()` uses it so a client still being made is not leaked.
   */
  async settled(): Promise<T | undefined> {
    if (this.#pending) await this.#pending.catch(() => undefined);
    return this.#value;
  }
}
