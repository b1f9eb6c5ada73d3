/** The project's error hierarchy: a stable code, whether a retry can help, and the cause. */
export interface TickstreamErrorOptions {
  readonly retriable?: boolean;
  readonly cause?: unknown;
}

export class TickstreamError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(code: string, message: string, options: TickstreamErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** A setting, option or input a user can fix; the message names what to change. */
export class ConfigError extends TickstreamError {
  constructor(message: string, options: TickstreamErrorOptions = {}) {
    super("CONFIG", message, options);
  }
}

/** A source (CSV file, synthetic generator) that cannot be read at all. */
export class SourceError extends TickstreamError {
  constructor(message: string, options: TickstreamErrorOptions = {}) {
    super("SOURCE", message, options);
  }
}

/** Writing an object to the lake failed; retriable when S3 may come back. */
export class LakeWriteError extends TickstreamError {
  constructor(message: string, options: TickstreamErrorOptions = {}) {
    super("LAKE_WRITE", message, options);
  }
}

/** A command on a host (local or remote) failed or could not start. */
export class HostError extends TickstreamError {
  constructor(message: string, options: TickstreamErrorOptions = {}) {
    super("HOST", message, options);
  }
}

/** A service (broker, S3 server, app) is not in the state a command needs. */
export class ServiceError extends TickstreamError {
  constructor(message: string, options: TickstreamErrorOptions = {}) {
    super("SERVICE", message, options);
  }
}

export function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // kafkajs' KafkaJSAggregateError ("Topic creation errors") keeps the reasons in `errors`.
  const inner = (error as { errors?: unknown[] }).errors;
  if (Array.isArray(inner) && inner.length > 0) {
    const reasons = [...new Set(inner.map((item) => errorMessage(item)))];
    return `${error.message}: ${reasons.join("; ")}`;
  }
  return error.message;
}
