/** Error codes shared by several modules. */
export const CommonErrorCode = {
  /** An unexpected failure inside trackmilter; the message passes per milter.on_error. Report it. */
  INTERNAL: 'EINTERNAL',
  /** A listen address (milter.listen, http.listen, a flag) cannot be read. */
  SOCKET_SPEC: 'ESOCKET_SPEC',
  /** A listener cannot bind its address (in use, no permission, a file in the way of a unix socket). */
  LISTEN: 'ELISTEN',
} as const;

/** An error with a stable machine-readable code, and the error that caused it. */
export class CodedError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CodedError';
    this.code = code;
  }
}

export function errorCode(err: unknown): string {
  if (err instanceof CodedError) return err.code;
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return err.code;
  return CommonErrorCode.INTERNAL;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The codes of an error and of its causes, outermost first (abstract-level wraps LevelDB's errors). */
export function errorCodeChain(err: unknown, depth = 4): string[] {
  const codes: string[] = [];
  for (let e = err; e && typeof e === 'object' && codes.length < depth; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
  }
  return codes;
}
