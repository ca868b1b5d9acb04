/**
 * One client connection, stage by stage. The folders of `src/` are these stages, in order:
 *
 * 1. accept/     TCP accept, TLS (SSLRequest or PostgreSQL 17 direct TLS; certs.ts makes the
 *                endpoint's certificate), the startup packet, CancelRequest relay; or a
 *                WebSocket over HTTPS (websocket.ts), whose stream then takes the same stages.
 * 0. cluster/    (multi-Region clusters only) the network in front of each Regional endpoint:
 *                latency, connections reset or blackholed (link.ts); then as for one endpoint.
 * 2. admission/  refusal while unavailable (a Region isolated with `'refuse'`, admit.ts);
 *                bounds on unauthenticated connections (handshakes.ts); armed `connect` faults
 *                (faults.ts); after authentication the connection rate (token-bucket.ts) and
 *                the connection cap (admit.ts).
 * 3. auth/       the cluster the client names (SNI / amzn-cluster-id) and its IAM token
 *                (token.ts re-signs it with SigV4).
 * 4. upstream/   the upstream PostgreSQL session (connect.ts, roles.ts, the embedded server).
 * 5. session/    the running session (session.ts), split into framing (framing.ts,
 *                requests.ts, client-frames.ts, upstream-frames.ts), SQL rules (rules.ts
 *                applies ../sql, row caps included), OCC translation (occ-translation.ts,
 *                occ-commit.ts, occ-arbiter.ts) and limits (limits.ts: query / COMMIT faults,
 *                transaction age, connection age).
 *
 * `wire/` holds the protocol's framing and the messages the proxy writes itself; `sql/` the
 * DSQL SQL rules; `server.ts` starts the listener and builds the `ConnectionContext` every stage
 * reads (context.ts).
 */
import type { IncomingMessage } from 'node:http';
import type net from 'node:net';
import type { WebSocket } from 'ws';
import { acceptConnection, type Accepted } from './accept/accept.js';
import { acceptWebSocket } from './accept/websocket.js';
import { admitSession, connectFaultHit, unavailableHit } from './admission/admit.js';
import { authenticate, namedEndpoint } from './auth/authenticate.js';
import type { ConnectionContext } from './context.js';
import { ProxySession } from './session/session.js';
import { backendPid, greet, openUpstream } from './upstream/open-session.js';
import { fatal } from './wire/fatal.js';

/** Runs one accepted TCP connection through the stages (see above). */
export function handleConnection(raw: net.Socket, ctx: ConnectionContext): void {
  acceptConnection(raw, ctx, (accepted) => runStages(accepted, ctx));
}

/** Runs one WebSocket (PostgreSQL over WebSocket, accept/websocket.ts) through the same stages. */
export function handleWebSocket(ws: WebSocket, req: IncomingMessage, ctx: ConnectionContext): void {
  acceptWebSocket(ws, req, ctx, (accepted) => runStages(accepted, ctx));
}

async function runStages({ socket, raw, handshake, params, extra }: Accepted, ctx: ConnectionContext): Promise<void> {
  if (unavailableHit(socket, ctx)) return;
  const endpoint = namedEndpoint(socket, params, ctx);
  if (!endpoint) return;
  if (connectFaultHit(socket, ctx)) return;
  const user = params.user ?? '';
  if (!user) return fatal(socket, { code: '28000', message: 'no PostgreSQL user name specified in startup packet' });
  if (!(await authenticate(socket, ctx, endpoint, user, extra))) return;

  const admission = admitSession(socket, raw, handshake, ctx);
  if (!admission) return;
  const up = await openUpstream(socket, ctx, user, params);
  admission.release();
  if (!up) return;
  if (socket.destroyed || ctx.closing) {
    up.socket.destroy();
    socket.destroy();
    return;
  }
  greet(socket, ctx, up);

  const { stats } = ctx;
  stats.openConnections++;
  const ageMs = ctx.maxConnectionAgeMs;
  // Jitter so sessions opened together do not close together: up to 1 % of the age, ≤ 10 s.
  const jitter = Math.random() * Math.min(ageMs * 0.01, 10_000);
  const session = new ProxySession(
    socket,
    up.socket,
    ctx.rules.newSession(),
    { faults: ctx.faults, stats, maxTransactionAgeMs: ctx.maxTransactionAgeMs, lockTimeoutMs: ctx.lockTimeoutMs, closeAt: Date.now() + ageMs + jitter, occ: ctx.occ, pid: backendPid(up.greeting) },
    () => {
      stats.openConnections--;
      ctx.sessions.delete(session);
      raw.destroy();
    },
  );
  ctx.sessions.add(session);
  session.start();
  if (up.rest) up.socket.unshift(up.rest);
  socket.resume();
}
