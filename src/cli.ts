#!/usr/bin/env node
import { main } from './main.js';

// exitCode, not process.exit(): a large JSON document written to a pipe must drain first.
process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });
