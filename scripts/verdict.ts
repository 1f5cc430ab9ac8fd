/**
 * How scripts/test.ts judges one runner: by its exit code and by its report together, so neither
 * a lying exit code nor a missing report can pass a run.
 */

export interface PartResult {
  name: string;
  exitCode: number;
  passed: number;
  failed: number;
  skipped: number;
  /** Failures that are not failed tests: failed files, unhandled errors, a missing report, type errors. */
  errors: number;
  /** What went wrong besides failed tests (the errors, and a lying or failed exit code). */
  problems: string[];
  ok: boolean;
  seconds: number;
}

export type Outcome = Omit<PartResult, 'name' | 'ok' | 'seconds' | 'errors'>;

/**
 * Counts from Deno's JUnit report: the `<testsuites>` totals, and ignored tests as the
 * `<skipped/>` test cases (Deno puts no ignored total on `<testsuites>`).
 */
export function junitCounts(xml: string): { tests: number; failures: number; errors: number; ignored: number } | undefined {
  const element = /<testsuites\b[^>]*>/.exec(xml)?.[0];
  if (!element) return undefined;
  const attribute = (name: string) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(element)?.[1] ?? 0);
  const ignored = xml.match(/<skipped\b/g)?.length ?? 0;
  return { tests: attribute('tests'), failures: attribute('failures'), errors: attribute('errors'), ignored };
}

/** A part's result, with the verdict: both the exit code and the report must say "passed". */
export function judge(name: string, outcome: Outcome, seconds: number): PartResult {
  const problems = [...outcome.problems];
  const errors = problems.length;
  const reportSaysFailed = outcome.failed > 0 || problems.length > 0;
  if (reportSaysFailed && outcome.exitCode === 0) problems.push('the process exited 0 although its report shows failures: its exit status cannot be trusted');
  if (!reportSaysFailed && outcome.exitCode !== 0) problems.push(`exit code ${outcome.exitCode}`);
  if (outcome.passed === 0 && outcome.failed === 0 && problems.length === 0 && name !== 'typecheck') problems.push('no test ran');
  const ok = outcome.exitCode === 0 && outcome.failed === 0 && problems.length === 0;
  // A part that is red without a counted failure (a failed exit code alone) still counts as one,
  // so the total can never read "0 failed" over a red part.
  return { name, ...outcome, errors: ok || outcome.failed + errors > 0 ? errors : 1, problems, ok, seconds };
}

