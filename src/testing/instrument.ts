/**
 * Instruments a transport so tests can count round trips exactly and inject faults.
 */

/** A fault to inject into the next request. */
export type Fault =
  /** The request never reaches the server (as a dropped connection before sending). */
  | 'request-lost'
  /** The server processes the request, then the response is lost. */
  | 'response-lost'
  /** The server answers 503 without processing the request. */
  | 'server-error';

export interface InstrumentedFetch {
  /** Pass this to the driver. */
  readonly fetch: typeof fetch;
  /** Requests sent so far (faulted ones included). */
  requests(): number;
  /** The next request suffers `fault`. */
  failNext(fault: Fault): void;
}

/** Wraps a `fetch`, counting requests and injecting faults on demand. */
export function instrumentFetch(base: typeof fetch = globalThis.fetch.bind(globalThis)): InstrumentedFetch {
  let count = 0;
  const pending: Fault[] = [];
  const wrapped = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    count++;
    const fault = pending.shift();
    if (fault === 'request-lost') throw new TypeError('fetch failed (injected: request lost before reaching the server)');
    if (fault === 'server-error') {
      // What a load balancer in front of the database says when the database is away.
      return new Response('503 Service Unavailable (injected)', { status: 503, statusText: 'Service Unavailable', headers: { 'content-type': 'text/plain' } });
    }
    const response = await base(input, init);
    if (fault === 'response-lost') {
      await response.arrayBuffer(); // the server did its work; the client never hears of it
      throw new TypeError('fetch failed (injected: response lost after the server answered)');
    }
    return response;
  };
  return {
    fetch: wrapped as typeof fetch,
    requests: () => count,
    failNext: (fault) => void pending.push(fault),
  };
}

/** Wraps a driver object so calls of the named methods are counted (a round trip each). */
export function countCalls<T extends object>(target: T, methods: readonly (keyof T & string)[]): { client: T; calls(): number } {
  let count = 0;
  const names = new Set<string>(methods);
  const client = new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver) as unknown;
      if (typeof property === 'string' && names.has(property) && typeof value === 'function') {
        return (...args: unknown[]) => {
          count++;
          return (value as (...a: unknown[]) => unknown).apply(object, args);
        };
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(object) : value;
    },
  });
  return { client, calls: () => count };
}
