/**
 * The exit-status probe for `deno test`: passes or fails on purpose, as BURR_TEST_PROBE says
 * (see test/probe/exit-status.probe.ts).
 */
interface DenoApi {
  test(name: string, fn: () => void): void;
  env: { get(name: string): string | undefined };
}
const deno = (globalThis as unknown as { Deno: DenoApi }).Deno;

deno.test('the exit-status probe has the outcome it was asked for', () => {
  const probe = deno.env.get('BURR_TEST_PROBE');
  if (probe !== 'pass') throw new Error(`a deliberate failure (BURR_TEST_PROBE=${probe ?? 'unset'}): this run must exit non-zero`);
});
