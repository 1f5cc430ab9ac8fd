/**
 * One of several processes racing on one session (test/harness/race.ts starts them): until it
 * has won `rounds` steps it loads the latest step, appends its id to the state's log, and saves
 * the next step with `expectedSequenceId`; a `CONCURRENT_UPDATE` means another process won that
 * step, so it loads again. Prints one JSON line: the steps it won and how often it lost.
 *
 *   tsx test/harness/race-writer.ts <store> <partition> <app> <writer> <rounds>
 *
 * `<store>` is any store argument of the CLI (`file:…`, `postgres://…`, `upstash:…`, `mongodb://…`).
 */
import { openStore } from '../../src/cli/stores.js';

const [spec, partitionKey, appId, writerText, roundsText] = process.argv.slice(2);
if (!spec || partitionKey === undefined || !appId || !writerText || !roundsText) throw new Error('usage: race-writer <store> <partition> <app> <writer> <rounds>');
const writer = Number(writerText);
const rounds = Number(roundsText);
const store = await openStore(spec, { env: process.env }, 'target');
const persister = store.writer;
if (!persister) throw new Error(`${store.label} cannot be written`);
const won: number[] = [];
let lost = 0;
// Start together: every process has its connection open before the first save.
await persister.load(partitionKey, appId);
process.stdout.write('ready\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
for (let attempt = 0; won.length < rounds; attempt++) {
  if (attempt > 50 * rounds) throw new Error(`writer ${writer} won only ${won.length} of ${rounds} steps in ${attempt} attempts`);
  const latest = await persister.load(partitionKey, appId);
  if (!latest) throw new Error('the session has no first step');
  const log = [...(latest.state.log as number[]), writer];
  try {
    await persister.save({ partitionKey, appId, sequenceId: latest.sequenceId + 1, position: `writer-${writer}`, state: { log }, status: 'completed', expectedSequenceId: latest.sequenceId });
    won.push(latest.sequenceId + 1);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'CONCURRENT_UPDATE') throw error;
    lost++;
  }
}
await store.close();
process.stdout.write(`${JSON.stringify({ writer, won, lost })}\n`);
