/** How scripts/test.ts judges a runner: the exit code and the report must both say "passed". */
import { describe, expect, it } from 'vitest';
import { judge, junitCounts } from '../../scripts/verdict.js';

const green = { exitCode: 0, passed: 12, failed: 0, skipped: 0, problems: [] };

describe('judge', () => {
  it('passes a run whose exit code and report both say passed', () => {
    expect(judge('vitest', green, 1)).toMatchObject({ ok: true, errors: 0, problems: [] });
  });

  it('fails a run whose report shows a failed test although the process exited 0, and says so', () => {
    const result = judge('vitest', { ...green, failed: 1 }, 1);
    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toMatch(/exited 0 although its report shows failures/);
  });

  it('fails a run with a failed file or unhandled error and no failed test, counting each', () => {
    const result = judge('vitest', { ...green, exitCode: 1, problems: ['failed file a.test.ts', 'unhandled error: boom'] }, 1);
    expect(result).toMatchObject({ ok: false, failed: 0, errors: 2 });
  });

  it('fails a run that exited non-zero with a clean report, counting one error', () => {
    expect(judge('deno', { ...green, exitCode: 3 }, 1)).toMatchObject({ ok: false, errors: 1, problems: ['exit code 3'] });
  });

  it('fails a run in which no test ran', () => {
    expect(judge('bun', { ...green, passed: 0 }, 1)).toMatchObject({ ok: false, errors: 1, problems: ['no test ran'] });
  });

  it('passes a clean typecheck, which runs no tests', () => {
    expect(judge('typecheck', { ...green, passed: 0 }, 1).ok).toBe(true);
  });
});

describe('junitCounts', () => {
  it("reads Deno's totals and counts ignored test cases", () => {
    const xml = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<testsuites name="deno test" tests="3" failures="1" errors="0" time="0.007">',
      '  <testsuite name="a.ts" tests="3" disabled="1" errors="0" failures="1">',
      '    <testcase name="x"><skipped/></testcase><testcase name="y"/><testcase name="z"><failure/></testcase>',
      '  </testsuite>',
      '</testsuites>',
    ].join('\n');
    expect(junitCounts(xml)).toEqual({ tests: 3, failures: 1, errors: 0, ignored: 1 });
  });

  it('returns undefined for a file that is not a JUnit report', () => {
    expect(junitCounts('<html></html>')).toBeUndefined();
  });
});
