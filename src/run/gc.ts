import { spawn } from 'node:child_process';
import type { Io, Logger } from '../util/log.js';

/** Runs the --gc-command through the shell, streaming its output to stderr; returns its exit code. */
export function runGcCommand(command: string, io: Io, logger: Logger): Promise<number> {
  logger.info(`Running the garbage collection command: ${command}`);
  return new Promise((resolve) => {
    const child = spawn(command, { shell: true, stdio: ['ignore', 'pipe', 'pipe'], env: io.env });
    // Piped, not written chunk by chunk: a collection that prints a line per blob waits for a slow reader instead
    // of piling its output up in memory.
    child.stdout.pipe(io.stderr, { end: false });
    child.stderr.pipe(io.stderr, { end: false });
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
