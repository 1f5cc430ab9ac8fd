/**
 * Starts every server the suite needs once per `vitest run` and hands their addresses to all
 * projects (node, edge, workerd, browser) through `provide`/`inject`.
 */
import type { TestProject } from 'vitest/node';
import type { HarnessAddresses } from './addresses.js';
import { startHarness } from './start.js';

declare module 'vitest' {
  export interface ProvidedContext {
    harness: HarnessAddresses;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const harness = await startHarness();
  project.provide('harness', harness.addresses);
  return () => harness.stop();
}
