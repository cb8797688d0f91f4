#!/usr/bin/env node
import { main } from './main.js';

// A reader that went away (cleanreg … | head): stop at once and quietly, as a Unix tool stopped by SIGPIPE does.
// Printing the plan comes before any deletion, so a run cut short there deletes nothing.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(141);
});

// exitCode, not process.exit(): a large JSON document written to a pipe must drain first.
process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });
