import { errorChain } from '../errors/error-chain.js';
import { DsqlConnectError } from '../errors/errors.js';
import { redact } from '../errors/redact.js';
import { classifyError } from '../errors/sqlstate.js';

/**
 * The parts of a resolved config that explain a refused connection.
 *
 * @example
 * describeConnectError(err, resolveConfig(options) satisfies ConnectErrorContext);
 */
export interface ConnectErrorContext {
  readonly host: string;
  readonly tokenHost: string;
  readonly dialHost?: string;
  readonly region: string;
  readonly user: string;
  readonly admin: boolean;
}

/**
 * Turns a refused connection into an error that says what to check next. Access denied gets
 * a next step chosen from the server's HINT (expired signature → clock or token lifetime;
 * "not authorized to perform" → IAM policy; wrong user to action mapping → admin vs
 * DbConnect; invalid security token → credentials; token signed for another host name → the
 * host to pass; otherwise the list of usual causes:
 * Region, action, credentials, host). A missing SNI gets a TLS hint. Returns a
 * `DsqlConnectError` with the original as `cause`; other errors are returned unchanged.
 * Nothing token-shaped survives (everything passes through `redact`).
 *
 * @example
 * try { await client.connect(); } catch (err) { throw describeConnectError(err, config); }
 */
export function describeConnectError(err: unknown, config: ConnectErrorContext): unknown {
  const chain = errorChain(err);
  const serverHint = chain.map((f) => f.hint).find((h) => h !== undefined) ?? '';
  const text = `${chain.map((f) => f.message).join(' ')} ${serverHint}`;
  const action = config.admin ? 'DbConnectAdmin' : 'DbConnect';
  const where = `${config.host}${config.dialHost && config.dialHost !== config.host ? ` (dialled at ${config.dialHost})` : ''}`;

  if (/sni was not received/i.test(text)) {
    return new DsqlConnectError('tls', `Aurora DSQL refused the connection to ${where}: no TLS SNI was sent.`, {
      cause: err,
      hint: 'Connect with the TLS options of createDsqlSession(options).tls (servername = the cluster hostname). To dial an IP address, pass it as hostaddr and keep the cluster hostname as host.',
    });
  }
  if (classifyError(err).kind !== 'access-denied') return err;

  let hint: string;
  if (/signature expired/i.test(text)) {
    hint = 'The token had expired when it was used. Check the system clock (SigV4 tolerates little skew) and tokenDurationSecs; tokens are refreshed automatically by TokenProvider.';
  } else if (/wrong user to action mapping/i.test(text)) {
    hint = `User "${config.user}" was sent a ${action} token. The admin role needs DbConnectAdmin and every other role DbConnect: remove the admin option or set it to match the user.`;
  } else if (/not authorized to perform/i.test(text)) {
    hint = `The IAM principal may not call dsql:${action} on this cluster. Attach a policy allowing dsql:${action} on the cluster ARN${config.admin ? '' : `, and map the role with AWS IAM GRANT ${config.user} TO '<principal arn>'`}.`;
  } else if (/security token included in the request is (?:invalid|expired)|invalidclienttokenid|expiredtoken/i.test(text)) {
    hint = 'The AWS credentials are invalid or expired. Refresh them (e.g. aws sso login) or check the profile in use.';
  } else if (/different host|host name|unknown cluster/i.test(serverHint)) {
    hint = `The token was signed for ${config.tokenHost}, which is not the host name the endpoint answers to. Pass the cluster endpoint (in lower case) as host; to dial another name or address, pass it as hostaddr.`;
  } else if (/region/i.test(serverHint)) {
    hint = `The token was signed for Region ${config.region}; check that the cluster is in that Region (each Regional endpoint of a multi-Region cluster needs its own token).`;
  } else {
    hint =
      `Check, in this order: the Region (token signed for ${config.region}); the action (${action} for user "${config.user}"); ` +
      `that the AWS credentials are valid and unexpired; that the token host (${config.tokenHost}) is the cluster endpoint you connect to` +
      `${config.admin ? '' : `; that role "${config.user}" exists and is mapped with AWS IAM GRANT`}.`;
  }
  if (serverHint) hint += ` Server hint: ${redact(serverHint)}`;
  return new DsqlConnectError('access-denied', `Aurora DSQL refused the connection to ${where} as "${config.user}": access denied.`, {
    cause: err,
    hint,
  });
}
