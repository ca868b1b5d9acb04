/** The counters every stage adds to, returned by `stats()`. */
import type { AuthFailureReason } from './auth/token.js';

/**
 * Counters of one emulator, as returned by `stats()` (a snapshot).
 *
 * @example
 * const { occConflicts, authFailures } = dsql.stats();
 * expect(authFailures.expired).toBe(1);
 */
export interface DsqlLocalStats {
  /** Connections accepted (TCP and WebSocket). */
  connectionsAccepted: number;
  /** WebSocket connections accepted (`webSocket: true`); each is counted in `connectionsAccepted` too. */
  webSocketConnections: number;
  /** Sessions that passed token verification. */
  authenticated: number;
  /** Token verification failures by reason. */
  authFailures: Partial<Record<AuthFailureReason, number>>;
  /** Connections refused with 53400 (connection rate). */
  rateLimited: number;
  /** Connections refused with 53300 (too many connections). */
  tooManyConnections: number;
  /** Connections refused for missing TLS or SNI. */
  tlsRefused: number;
  /** Sessions closed at their maximum age. */
  closedForAge: number;
  /** Transactions failed with 54000 for their age. */
  transactionAgeExceeded: number;
  /** OCC conflicts reported to clients (40001). */
  occConflicts: number;
  /** Injected faults that hit. */
  injectedFaults: number;
  /** SQL texts received (simple Query strings and Parse messages). */
  queries: number;
  /** Client sessions currently open. */
  openConnections: number;
  /** Connections closed because they had not authenticated within the handshake deadline. */
  handshakeTimeouts: number;
  /** Unauthenticated connections closed to make room for a new one (see `maxHandshakes`). */
  handshakesEvicted: number;
  /** Connections refused before authentication for a malformed or oversized message. */
  protocolViolations: number;
  /**
   * Connections refused, and open sessions closed, with `XX000 server unavailable` while the
   * endpoint's Region is isolated in mode `'refuse'` (see `startDsqlLocalCluster`).
   */
  unavailable: number;
}

/** A fresh zeroed stats object. */
export function emptyStats(): DsqlLocalStats {
  return {
    connectionsAccepted: 0,
    webSocketConnections: 0,
    authenticated: 0,
    authFailures: {},
    rateLimited: 0,
    tooManyConnections: 0,
    tlsRefused: 0,
    closedForAge: 0,
    transactionAgeExceeded: 0,
    occConflicts: 0,
    injectedFaults: 0,
    queries: 0,
    openConnections: 0,
    handshakeTimeouts: 0,
    handshakesEvicted: 0,
    protocolViolations: 0,
    unavailable: 0,
  };
}
