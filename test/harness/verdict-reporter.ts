/**
 * A vitest reporter that writes the run's verdict as JSON to `BURR_VERDICT_FILE`, so
 * scripts/test.ts judges every run by what happened, not only by the process's exit code (a
 * third-party exit hook once replaced vitest's exit code with 0 over failed tests).
 *
 * Unlike vitest's JSON reporter it also counts unhandled errors and files that failed without a
 * failing test (an import error, a failing `beforeAll`), which must fail a run too.
 */
import { writeFileSync } from 'node:fs';
import type { Reporter, SerializedError, TestModule, TestRunEndReason } from 'vitest/node';

export interface Verdict {
  passed: number;
  failed: number;
  skipped: number;
  /** Test files that failed without a failing test: an import error, a failing `beforeAll`. */
  failedFiles: string[];
  unhandledErrors: string[];
  reason: TestRunEndReason;
}

export default class VerdictReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>, reason: TestRunEndReason): void {
    const file = process.env.BURR_VERDICT_FILE;
    if (!file) return;
    const verdict: Verdict = { passed: 0, failed: 0, skipped: 0, failedFiles: [], unhandledErrors: unhandledErrors.map((e) => e.message), reason };
    for (const module of testModules) {
      let failedTests = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') verdict.passed++;
        else if (state === 'failed') failedTests++;
        else verdict.skipped++;
      }
      verdict.failed += failedTests;
      if (module.state() === 'failed' && failedTests === 0) verdict.failedFiles.push(module.moduleId);
    }
    writeFileSync(file, JSON.stringify(verdict));
  }
}
