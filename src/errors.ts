/**
 * One error hierarchy; `main` alone maps it to exit codes:
 * 2 = usage or configuration error (nothing was touched), 1 = runtime or registry failure.
 */
export class CleanregError extends Error {
  readonly exitCode: 1 | 2;
  /** What the user should do about it. */
  readonly hint?: string;

  constructor(message: string, exitCode: 1 | 2, hint?: string) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = hint;
  }
}

/** Bad flags, bad regex, bad date, bad URL: exit 2. */
export class UsageError extends CleanregError {
  constructor(message: string, hint?: string) {
    super(message, 2, hint);
  }
}

/** A bad line in a configuration file; the message names the file, line and key. */
export class ConfigError extends UsageError {
  constructor(file: string, line: number, message: string) {
    super(`${file}:${line}: ${message}`);
  }
}

export type RegistryErrorKind =
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'repository-missing'
  | 'delete-disabled'
  | 'tls'
  | 'connection'
  | 'timeout'
  | 'rate-limited'
  | 'server'
  | 'protocol';

/** A registry answered badly or not at all: exit 1. */
export class RegistryError extends CleanregError {
  readonly kind: RegistryErrorKind;
  readonly status?: number;
  /** The request the message begins with (`delete app@sha256:…: …`), when it names one. */
  what?: string;
  /** For a request that got no answer: node's code (ECONNREFUSED: it never reached the registry). */
  networkCode?: string;

  constructor(kind: RegistryErrorKind, message: string, hint?: string, status?: number) {
    super(message, 1, hint);
    this.kind = kind;
    this.status = status;
  }

  /** The message without the request it begins with: what went wrong, to say about other requests too. */
  get reason(): string {
    return this.what && this.message.startsWith(`${this.what}: `) ? this.message.slice(this.what.length + 2) : this.message;
  }
}

/** The user declined, or there was no terminal to ask and no --yes. */
export class NotConfirmedError extends UsageError {}
