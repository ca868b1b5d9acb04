/**
 * Backend (server → client) messages the proxy writes itself. `pg-protocol` only serializes
 * frontend messages, so these few builders are hand-written.
 */
import type { SqlError, TxStatus } from '../sql/hook.js';
import { cstring, int32, message, readCString } from './frames.js';

/** ErrorResponse with PostgreSQL's field codes (S, V, C, M, D, H). */
export function errorResponse(err: SqlError): Buffer {
  const severity = err.severity ?? 'ERROR';
  const fields: Buffer[] = [
    Buffer.from('S'),
    cstring(severity),
    Buffer.from('V'),
    cstring(severity),
    Buffer.from('C'),
    cstring(err.code),
    Buffer.from('M'),
    cstring(err.message),
  ];
  if (err.detail !== undefined) fields.push(Buffer.from('D'), cstring(err.detail));
  if (err.hint !== undefined) fields.push(Buffer.from('H'), cstring(err.hint));
  fields.push(Buffer.from([0]));
  return message('E', ...fields);
}

/** ReadyForQuery with the given transaction status. */
export function readyForQuery(status: TxStatus): Buffer {
  return message('Z', Buffer.from(status));
}

/** CommandComplete with the given tag. */
export function commandComplete(tag: string): Buffer {
  return message('C', cstring(tag));
}

/** ParameterStatus (`S`): a run-time parameter's name and value, as sent at startup. */
export function parameterStatus(name: string, value: string): Buffer {
  return message('S', cstring(name), cstring(value));
}

/** Reads the parameter name of a ParameterStatus frame. */
export function parameterStatusName(frame: Buffer): string {
  return readCString(frame, 5)[0];
}

/** AuthenticationCleartextPassword. */
export function authCleartextPassword(): Buffer {
  return message('R', int32(3));
}

/** AuthenticationOk. */
export function authOk(): Buffer {
  return message('R', int32(0));
}

/** Reads the tag of a CommandComplete frame. */
export function commandTagOf(frame: Buffer): string {
  return frame.toString('utf8', 5, frame.length - 1);
}

/**
 * Reads the fields of an ErrorResponse / NoticeResponse frame into a code → value map.
 * Hand-written rather than `pg-protocol`'s Parser: the proxy rewrites upstream errors and must
 * keep every field, in order, including ones `DatabaseError` has no property for.
 */
export function errorFields(frame: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let off = 5;
  while (off < frame.length && frame[off] !== 0) {
    const code = String.fromCharCode(frame[off]!);
    const end = frame.indexOf(0, off + 1);
    if (end < 0) break;
    out.set(code, frame.toString('utf8', off + 1, end));
    off = end + 1;
  }
  return out;
}

/** Rebuilds an ErrorResponse from a field map (used to rewrite PostgreSQL's own texts). */
export function errorFromFields(fields: Map<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of fields) parts.push(Buffer.from(k), cstring(v));
  parts.push(Buffer.from([0]));
  return message('E', ...parts);
}
