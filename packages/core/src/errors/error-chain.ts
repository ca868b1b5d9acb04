/**
 * Walking an error and everything it wraps (`cause` chains, `AggregateError.errors`),
 * and reading the fields drivers put on database errors. Internal.
 */

/**
 * The fields of a driver error this package reads. pg and Postgres.js both use these names.
 * @internal
 */
export interface ErrorFields {
  readonly node: object;
  readonly name: string;
  readonly message: string;
  /** Five-character SQLSTATE when the error came from the server. */
  readonly sqlstate: string | undefined;
  /** Any other `code` (`ECONNRESET`, Postgres.js `CONNECTION_CLOSED`, …). */
  readonly code: string | undefined;
  readonly hint: string | undefined;
  readonly detail: string | undefined;
  readonly severity: string | undefined;
}

const MAX_DEPTH = 16;
/** Node system error codes that happen to be five upper-case characters, like a SQLSTATE. */
const FIVE_CHAR_SYSTEM_CODES = new Set(['EPIPE', 'EPERM', 'EBUSY', 'EXDEV', 'EIDRM', 'EBADF']);
/** Prisma's error codes (`P2034`, …): shaped like a SQLSTATE, but not one. */
const PRISMA_CODE = /^P[1-6]\d{3}$/;

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** A SQLSTATE-shaped value: five digits or upper-case letters. */
const SQLSTATE = /^[0-9A-Z]{5}$/;

function fieldsOf(node: object): ErrorFields {
  const e = node as Record<string, unknown>;
  const code = str(e.code);
  // Prisma's driver adapters keep the server's SQLSTATE and text in `originalCode` /
  // `originalMessage` of the DriverAdapterError's `cause` (a plain object).
  const original = str(e.originalCode);
  const explicitState = str(e.sqlState) ?? str(e.sqlstate) ?? (original !== undefined && SQLSTATE.test(original) ? original : undefined);
  const codeIsState = code !== undefined && SQLSTATE.test(code) && !FIVE_CHAR_SYSTEM_CODES.has(code) && !PRISMA_CODE.test(code);
  return {
    node,
    name: str(e.name) ?? '',
    message: str(e.message) ?? str(e.originalMessage) ?? '',
    sqlstate: explicitState ?? (codeIsState ? code : undefined),
    code: codeIsState ? undefined : code,
    hint: str(e.hint),
    detail: str(e.detail),
    severity: str(e.severity),
  };
}

/**
 * Every error-like object reachable from `err` through `cause` and `AggregateError.errors`,
 * outermost first, each visited once.
 * @internal
 */
export function errorChain(err: unknown): ErrorFields[] {
  const out: ErrorFields[] = [];
  const seen = new Set<object>();
  const visit = (node: unknown, depth: number): void => {
    if (typeof node !== 'object' || node === null || seen.has(node) || depth > MAX_DEPTH) return;
    seen.add(node);
    out.push(fieldsOf(node));
    const e = node as { cause?: unknown; errors?: unknown; meta?: { driverAdapterError?: unknown } };
    if (Array.isArray(e.errors)) for (const child of e.errors) visit(child, depth + 1);
    visit(e.cause, depth + 1);
    // Prisma's PrismaClientKnownRequestError carries the driver adapter's error in `meta`.
    if (typeof e.meta === 'object' && e.meta !== null) visit(e.meta.driverAdapterError, depth + 1);
  };
  visit(err, 0);
  return out;
}
