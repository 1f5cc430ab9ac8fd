#!/usr/bin/env node
/** The `burr-edge` bin. `burr-edge --help` lists the commands; each has `--help` with examples. */
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
