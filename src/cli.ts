#!/usr/bin/env node
import { main } from './main.js';
import { deletionConfirmed } from './run/confirm.js';

// A reader that went away (cleanreg … | head): before any deletion is confirmed, stop at once and quietly, as a
// Unix tool stopped by SIGPIPE does (nothing is deleted); once deleting, finish, with nothing more printed.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  if (!deletionConfirmed()) process.exit(141);
});

// exitCode, not process.exit(): a large JSON document written to a pipe must drain first.
process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });
