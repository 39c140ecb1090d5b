/**
 * Rampart's typed errors. Every error carries a stable `code` so that the CLI, the HTTP
 * server and user code can react to a kind of failure without parsing messages. Messages
 * name the argument, the operation and the valid choices, so a user can fix the call.
 */

/** The kind of a failure; decides the CLI exit code and the HTTP status. */
export type ErrorKind =
  | 'usage'
  | 'input'
  | 'threat'
  | 'config'
  | 'data'
  | 'registry'
  | 'gradient'
  | 'engine'
  | 'internal'
  | 'auth'
  | 'forbidden'
  | 'rate-limit'
  | 'rejected';

export interface RampartErrorOptions {
  cause?: unknown;
  /** Structured facts about the failure (the bad value, the valid choices...). */
  details?: Record<string, unknown>;
}

export class RampartError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly details: Record<string, unknown>;

  constructor(code: string, kind: ErrorKind, message: string, options: RampartErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.kind = kind;
    this.details = options.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, kind: this.kind, message: this.message, details: this.details };
  }
}

/** A call that cannot work as written: bad flag, bad option value, unknown id. */
export class UsageError extends RampartError {
  constructor(code: string, message: string, options?: RampartErrorOptions) {
    super(code, 'usage', message, options);
  }
}

/** Data handed to an operation has the wrong shape, dtype, range or contains NaN. */
export class InputError extends RampartError {
  constructor(code: string, message: string, options?: RampartErrorOptions) {
    super(code, 'input', message, options);
  }
}

/** A threat model that cannot be built (epsilon out of range, unknown norm...). */
export class ThreatError extends RampartError {
  constructor(code: string, message: string, options?: RampartErrorOptions) {
    super(code, 'threat', message, options);
  }
}

/** A configuration or plan file is malformed. */
export class ConfigError extends RampartError {
  constructor(code: string, message: string, options?: RampartErrorOptions) {
    super(code, 'config', message, options);
  }
}

/** A data set or model file is missing, truncated or malformed. */
export class DataError extends RampartError {
  constructor(code: string, message: string, options?: RampartErrorOptions) {
    super(code, 'data', message, options);
  }
}

/**
 * The artifact registry, risk register, vulnerability records or audit log refused an
 * operation: unknown or ambiguous reference, illegal state change, broken audit chain.
 */
export class RegistryError extends RampartError {
  constructor(code: string, message: string, options?: RampartErrorOptions) {
    super(code, 'registry', message, options);
  }
}

/**
 * A served request was refused: missing or unknown credentials (`auth`, 401), a role that
 * does not reach the route (`forbidden`, 403), too many requests (`rate-limit`, 429), or an
 * input a runtime defence denied (`rejected`, 422).
 */
export class ServeError extends RampartError {
  constructor(code: string, kind: 'auth' | 'forbidden' | 'rate-limit' | 'rejected', message: string, options?: RampartErrorOptions) {
    super(code, kind, message, options);
  }
}

/** Gradients are missing, zero or non-finite where an attack or trainer needs them. */
export class GradientError extends RampartError {
  constructor(code: string, message: string, options?: RampartErrorOptions) {
    super(code, 'gradient', message, options);
  }
}

/** The numeric engine could not start or lacks a kernel. */
export class EngineError extends RampartError {
  constructor(code: string, message: string, options?: RampartErrorOptions) {
    super(code, 'engine', message, options);
  }
}

/** Process exit code for an error: 2 for a call the user must change, 1 for a failure. */
export function exitCodeFor(error: unknown): 1 | 2 {
  if (error instanceof RampartError) {
    return error.kind === 'usage' || error.kind === 'threat' || error.kind === 'config' ? 2 : 1;
  }
  return 1;
}

/** HTTP status for an error, one table for the whole server. */
export function httpStatusFor(error: unknown): number {
  if (!(error instanceof RampartError)) return 500;
  switch (error.kind) {
    case 'usage':
    case 'input':
    case 'threat':
    case 'config':
      return 400;
    case 'data':
    case 'registry':
      return 404;
    case 'gradient':
    case 'engine':
    case 'internal':
      return 500;
    // Serving: no or unknown credentials, a role that does not allow the route, too many
    // requests, and an input a runtime defence refused.
    case 'auth':
      return 401;
    case 'forbidden':
      return 403;
    case 'rate-limit':
      return 429;
    case 'rejected':
      return 422;
  }
}

/** Formats a list of valid choices for an error message: `'a', 'b' or 'c'`. */
export function listChoices(choices: readonly string[]): string {
  const quoted = choices.map((c) => `'${c}'`);
  if (quoted.length <= 1) return quoted.join('');
  return `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`;
}
