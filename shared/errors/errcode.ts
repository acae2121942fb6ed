/**
 * One registry of error codes. Each code is declared once with its HTTP status; handlers throw
 * `WharfError`s and a single error middleware serialises them into the OCI envelope
 * `{"errors":[{"code","message","detail"}]}`.
 */
export interface ErrorCode {
  readonly value: string;
  readonly message: string;
  readonly httpStatus: number;
  readonly description: string;
}

const registry = new Map<string, ErrorCode>();

export function registerErrorCode(code: ErrorCode): ErrorCode {
  if (registry.has(code.value)) throw new Error(`error code ${code.value} registered twice`);
  registry.set(code.value, Object.freeze({ ...code }));
  return registry.get(code.value)!;
}

export function allErrorCodes(): ErrorCode[] {
  return [...registry.values()];
}

export class WharfError extends Error {
  override readonly name = 'WharfError';
  readonly code: ErrorCode;
  readonly detail: unknown;
  /** Extra response headers the error implies (e.g. Range on 416, WWW-Authenticate on 401). */
  readonly headers: Record<string, string>;

  /** The code's status unless the call site names a more precise one (413 for an oversized manifest). */
  readonly status: number;

  constructor(
    code: ErrorCode,
    opts: { message?: string; detail?: unknown; cause?: unknown; headers?: Record<string, string>; status?: number } = {},
  ) {
    super(opts.message ?? code.message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.code = code;
    this.detail = opts.detail;
    this.headers = opts.headers ?? {};
    this.status = opts.status ?? code.httpStatus;
  }

  toJSON(): { code: string; message: string; detail?: unknown } {
    const out: { code: string; message: string; detail?: unknown } = { code: this.code.value, message: this.message };
    if (this.detail !== undefined) out.detail = this.detail;
    return out;
  }
}

export function isWharfError(e: unknown): e is WharfError {
  return e instanceof WharfError;
}

/** The OCI error envelope for one or more errors. */
export function errorEnvelope(errors: WharfError[]): { errors: ReturnType<WharfError['toJSON']>[] } {
  return { errors: errors.map((e) => e.toJSON()) };
}
