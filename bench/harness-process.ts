/**
 * The harness's servers in a process of their own, so the bench process's CPU time is the
 * clients' alone. Prints one JSON line `{ addresses }` when ready; stops everything when its
 * standard input closes (the bench ending, or dying) or on SIGTERM.
 */
import { startHarness } from '../test/harness/start.js';

const harness = await startHarness();
let stopping: Promise<void> | undefined;
const stop = () => (stopping ??= harness.stop().finally(() => process.exit(0)));
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdout.write(`${JSON.stringify({ addresses: harness.addresses })}\n`);
