#!/usr/bin/env node
/** The `burr-edge` bin. `burr-edge --help` lists the commands; each has `--help` with examples. */
import { main } from './main.js';

// Output piped into `head` and closed early is not an error of ours.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
