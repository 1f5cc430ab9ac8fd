/**
 * Exact counts for the bench, Node only: bytes a client writes to a server's port, and the
 * queries a `pg` Pool runs (on the pool and on every client it hands out).
 */
import net from 'node:net';
import pg from 'pg';

const sentTo = new Map<number, number>();
let installed = false;

/**
 * Counts every byte written by this process to a socket whose remote port is watched. The
 * servers run in another process (bench/harness-process.ts), so only client writes are seen:
 * request bodies, headers and protocol framing, as on the wire (before TLS: there is none here).
 */
export function bytesSentTo(port: number): () => number {
  if (!installed) {
    installed = true;
    const write = net.Socket.prototype.write;
    net.Socket.prototype.write = function (this: net.Socket, chunk: unknown, ...rest: unknown[]) {
      const port = this.remotePort;
      if (port !== undefined && sentTo.has(port)) {
        const n = typeof chunk === 'string' ? Buffer.byteLength(chunk, typeof rest[0] === 'string' ? (rest[0] as BufferEncoding) : 'utf8') : ((chunk as Uint8Array | undefined)?.byteLength ?? 0);
        sentTo.set(port, sentTo.get(port)! + n);
      }
      return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof write;
  }
  if (!sentTo.has(port)) sentTo.set(port, 0);
  return () => sentTo.get(port)!;
}

export function portOf(url: string): number {
  const parsed = new URL(url);
  return Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
}

export interface CountedPool {
  /** Hand this to the library. */
  readonly pool: pg.Pool;
  /** `query` calls on the pool and on every client it handed out through `connect()`. */
  queries(): number;
  end(): Promise<void>;
}

/** A `pg.Pool` whose queries are counted, whichever path the library takes. */
export function countedPool(connectionString: string): CountedPool {
  let queries = 0;
  const raw = new pg.Pool({ connectionString, max: 10 });
  raw.on('error', () => {}); // an idle connection killed by the server's shutdown is not a failure
  const countQuery = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(object, property) {
        const value = Reflect.get(object, property, object) as unknown;
        if (typeof value !== 'function') return value;
        if (property === 'query') {
          return (...args: unknown[]) => {
            queries++;
            return (value as (...a: unknown[]) => unknown).apply(object, args);
          };
        }
        if (property === 'connect' && object === (raw as object)) {
          return async (...args: unknown[]) => {
            if (args.length > 0) throw new Error('bench: callback-style pool.connect() is not counted');
            return countQuery(await raw.connect());
          };
        }
        return (value as (...a: unknown[]) => unknown).bind(object);
      },
    });
  return { pool: countQuery(raw), queries: () => queries, end: () => raw.end() };
}

/** Client CPU of this process so far (user + system), ms. */
export function processCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
