/**
 * Authentication: the cluster the client names (TLS SNI, or `amzn-cluster-id` in the startup
 * options for PrivateLink without private DNS), then the IAM token it sends as its password,
 * verified for that host, the endpoint's Region and the user (see token.ts).
 */
import type { ConnectionContext } from '../context.js';
import { authCleartextPassword } from '../wire/backend.js';
import { fatal } from '../wire/fatal.js';
import { FrameLengthError } from '../wire/frames.js';
import { MAX_PASSWORD_MESSAGE_BYTES, readPassword } from './password.js';
import { verifyDsqlToken } from './token.js';
import type { ClientSocket } from '../accept/accept.js';

const ACCESS_DENIED = 'unable to accept connection, access denied';
const AMZN_CLUSTER_ID = /(?:^|\s)(?:-c\s*)?amzn-cluster-id=(\S+)/;

/** The endpoint a client named: the host its token must be signed for. */
export interface NamedEndpoint {
  tokenHost: string;
  /** Named by `amzn-cluster-id` (the host is then built from it), not by SNI. */
  byClusterId: boolean;
}

/**
 * The endpoint the client names, or undefined after refusing a connection that names none (DSQL
 * answers `sni was not received`).
 */
export function namedEndpoint(socket: ClientSocket, params: Record<string, string>, ctx: ConnectionContext): NamedEndpoint | undefined {
  const sni = socket.servername || undefined;
  // PrivateLink without private DNS: the client names the cluster in the startup options and
  // signs its token for the cluster's own hostname.
  const namedCluster = AMZN_CLUSTER_ID.exec(params.options ?? '')?.[1]?.toLowerCase();
  if (!sni && !namedCluster) {
    ctx.stats.tlsRefused++;
    fatal(socket, { code: '08006', message: 'unable to accept connection, sni was not received' });
    return undefined;
  }
  return namedCluster ? { tokenHost: `${namedCluster}.dsql.${ctx.region}.on.aws`, byClusterId: true } : { tokenHost: sni!, byClusterId: false };
}

/**
 * Asks for the password and verifies it as a DSQL token for `user` at `endpoint`. Resolves with
 * true once authenticated (counted in `stats.authenticated`); false after refusing or dropping
 * the connection (failures counted by reason).
 */
export async function authenticate(socket: ClientSocket, ctx: ConnectionContext, endpoint: NamedEndpoint, user: string, extra: Buffer): Promise<boolean> {
  const { stats } = ctx;
  socket.write(authCleartextPassword());
  const password = await readPassword(socket, extra);
  if (password === undefined) {
    socket.destroy();
    return false;
  }
  if (password instanceof FrameLengthError) {
    stats.protocolViolations++;
    fatal(socket, {
      code: '08P01',
      message: 'invalid message length',
      hint: `A password message is at most ${MAX_PASSWORD_MESSAGE_BYTES} bytes before authentication; an authentication token is far shorter.`,
    });
    return false;
  }
  const { tokenHost } = endpoint;
  const verdict = await verifyDsqlToken(password, { host: tokenHost, region: ctx.region, user, credentials: ctx.credentials });
  const endpointOk = endpoint.byClusterId ? tokenHost === ctx.host : tokenHost.toLowerCase() === ctx.host || tokenHost.toLowerCase() === 'localhost';
  if (!verdict.ok || !endpointOk) {
    const reason = verdict.ok ? 'wrong-host' : verdict.reason;
    const hint = verdict.ok ? `Unknown cluster ${tokenHost}; this endpoint serves ${ctx.host}.` : verdict.hint;
    stats.authFailures[reason] = (stats.authFailures[reason] ?? 0) + 1;
    fatal(socket, { code: '08006', message: ACCESS_DENIED, hint });
    return false;
  }
  if (socket.destroyed || ctx.closing) {
    socket.destroy();
    return false;
  }
  stats.authenticated++;
  return true;
}
