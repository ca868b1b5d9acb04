/**
 * The upstream stage: one upstream PostgreSQL session per admitted client — the emulator's
 * superuser for `admin`; any other role logs in as itself (embedded upstream) or runs as itself
 * via the `role` setting (see README: "Roles") — and the greeting relayed to the client.
 */
import { TOO_MANY_CONNECTIONS } from '../admission/admit.js';
import type { ConnectionContext } from '../context.js';
import { authOk, parameterStatusName, readyForQuery } from '../wire/backend.js';
import { fatal } from '../wire/fatal.js';
import { connectUpstream, UpstreamError, type UpstreamSession } from './connect.js';
import type { ClientSocket } from '../accept/accept.js';

/**
 * Opens the upstream session for `user` with the client's startup parameters (its own `options`
 * replaced by the emulator's settings). Undefined after refusing the client with what upstream
 * answered, translated where DSQL answers differently.
 */
export async function openUpstream(socket: ClientSocket, ctx: ConnectionContext, user: string, params: Record<string, string>): Promise<UpstreamSession | undefined> {
  const asRole = user !== 'admin' && user !== ctx.upstream.user;
  const settings = { ...ctx.upstreamSettings };
  if (asRole && !ctx.roleLogins) settings.role = user;
  const options = Object.entries(settings)
    .map(([k, v]) => `-c ${k}=${v.replace(/\\/g, '\\\\').replace(/ /g, '\\ ')}`)
    .join(' ');
  const forwarded: Record<string, string> = { options };
  for (const [k, v] of Object.entries(params)) {
    if (k !== 'user' && k !== 'database' && k !== 'options' && k !== 'replication') forwarded[k] = v;
  }
  try {
    const target = { ...ctx.upstream, database: params.database || 'postgres' };
    return asRole && ctx.roleLogins ? await ctx.roleLogins.connect(user, target, forwarded) : await connectUpstream(target, forwarded);
  } catch (err) {
    const fields = err instanceof UpstreamError ? err.fields : undefined;
    if (fields?.get('C') === '42704' || fields?.get('M')?.startsWith('invalid value for parameter "role"')) {
      fatal(socket, { code: '28000', message: `role "${user}" does not exist` });
    } else if (fields?.get('C') === '53300') {
      // PostgreSQL's "sorry, too many clients already": the upstream is full before
      // maxConnections is reached (see README: "Connection limits"). Answered as DSQL does.
      ctx.stats.tooManyConnections++;
      fatal(socket, TOO_MANY_CONNECTIONS);
    } else if (fields) fatal(socket, { code: fields.get('C') ?? 'XX000', message: fields.get('M') ?? 'upstream error' });
    else fatal(socket, { code: 'XX000', message: 'server unavailable' });
    return undefined;
  }
}

/**
 * Completes the client's authentication: AuthenticationOk, upstream's ParameterStatus /
 * BackendKeyData / notices (`server_version` replaced by DSQL's), ReadyForQuery.
 */
export function greet(socket: ClientSocket, ctx: ConnectionContext, up: UpstreamSession): void {
  const greeting = up.greeting
    .filter((f) => f[0] === 0x53 /* S */ || f[0] === 0x4b /* K */ || f[0] === 0x4e /* N */)
    .map((f) => (f[0] === 0x53 && parameterStatusName(f) === 'server_version' ? ctx.serverVersionStatus : f));
  socket.write(Buffer.concat([authOk(), ...greeting, readyForQuery('I')]));
}

/** The upstream backend's process id, from its BackendKeyData (0 if it sent none). */
export function backendPid(greeting: readonly Buffer[]): number {
  const key = greeting.find((f) => f[0] === 0x4b /* K */ && f.length >= 13);
  return key ? key.readInt32BE(5) : 0;
}
