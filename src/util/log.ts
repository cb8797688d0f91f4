import { redact } from './redact.js';

/** Where output goes. Tests pass their own; the CLI passes the process streams. */
export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/** Logs go to stderr, always redacted. Level 0 = warnings and errors; -v, -vv, -vvv add more. */
export class Logger {
  constructor(
    private readonly stderr: NodeJS.WritableStream,
    readonly verbosity: number,
  ) {}

  private write(line: string): void {
    this.stderr.write(redact(line) + '\n');
  }

  error(message: string): void {
    this.write(`error: ${message}`);
  }
  warn(message: string): void {
    this.write(`warning: ${message}`);
  }
  /** Notes shown by default (on stderr, so JSON on stdout stays clean). */
  info(message: string): void {
    this.write(message);
  }
  /** -v */
  verbose(message: string): void {
    if (this.verbosity >= 1) this.write(message);
  }
  /** -vv */
  debug(message: string): void {
    if (this.verbosity >= 2) this.write(message);
  }
  /** -vvv: request-level traces. */
  trace(message: string): void {
    if (this.verbosity >= 3) this.write(message);
  }
}
