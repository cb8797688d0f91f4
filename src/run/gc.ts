import { spawn } from 'node:child_process';
import { Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Io, Logger } from '../util/log.js';
import { redact } from '../util/redact.js';

/** Longest piece held back waiting for its line end (a progress bar redrawn with CR, a binary dump). */
const MAX_PENDING = 64 * 1024;

/**
 * The command's output with secrets redacted, line by line (CR or LF ends a line): a script that runs `curl -v -u`
 * with the registry's credentials, or `set -x`, or `env`, prints them, and they are the same secrets cleanreg
 * redacts from its own output.
 */
export function redactedLines(): Transform {
  let pending = '';
  // A character split between two chunks stays whole.
  const decoder = new StringDecoder('utf8');
  return new Transform({
    decodeStrings: false,
    transform(chunk: Buffer, _encoding, done) {
      pending += decoder.write(chunk);
      const end = Math.max(pending.lastIndexOf('\n'), pending.lastIndexOf('\r')) + 1;
      const cut = end > 0 ? end : pending.length > MAX_PENDING ? pending.length : 0;
      const ready = pending.slice(0, cut);
      pending = pending.slice(cut);
      done(null, ready ? redact(ready) : undefined);
    },
    flush(done) {
      pending += decoder.end();
      done(null, pending ? redact(pending) : undefined);
    },
  });
}

/** Runs the --gc-command through the shell, streaming its output to stderr; returns its exit code. */
export function runGcCommand(command: string, io: Io, logger: Logger): Promise<number> {
  logger.info(`Running the garbage collection command: ${command}`);
  return new Promise((resolve) => {
    const child = spawn(command, { shell: true, stdio: ['ignore', 'pipe', 'pipe'], env: io.env });
    // Piped, not written chunk by chunk: a collection that prints a line per blob waits for a slow reader instead
    // of piling its output up in memory.
    child.stdout.pipe(redactedLines()).pipe(io.stderr, { end: false });
    child.stderr.pipe(redactedLines()).pipe(io.stderr, { end: false });
    child.on('error', (error) => {
      logger.error(`the garbage collection command could not start: ${error.message}`);
      resolve(127);
    });
    child.on('close', (code, signal) => {
      if (code !== 0) logger.error(`the garbage collection command failed (${signal ? `signal ${signal}` : `exit ${code}`})`);
      resolve(code ?? 1);
    });
  });
}
