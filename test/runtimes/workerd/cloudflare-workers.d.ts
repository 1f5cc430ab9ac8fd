/**
 * The slice of workerd's `cloudflare:workers` module these tests use (the full types live in
 * @cloudflare/workers-types, which the project does not install).
 */
declare module 'cloudflare:workers' {
  /** The Worker's own entrypoints: `main` of the pool config, i.e. playground/worker.ts. */
  export const exports: { default: { fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> } };
  /** The bindings of the test Worker (from wrangler.toml and the pool's `miniflare.bindings`). */
  export const env: Record<string, string | undefined>;
}
