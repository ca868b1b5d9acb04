/**
 * Upstream sessions for non-admin roles, logged in as the role itself: PostgreSQL then enforces
 * what the role may do, `SET ROLE` and `SET SESSION AUTHORIZATION` included (a session of the
 * superuser with `role=<user>` could switch back to the superuser at will).
 *
 * DSQL roles have no password (clients present IAM tokens, which the proxy checks), so the
 * emulator gives each role one of its own the first time the role connects: random, set by the
 * superuser as a SCRAM secret, kept in memory. If the role was dropped and created again since,
 * the login fails once and the password is set again. Only used with the embedded upstream,
 * whose roles belong to the emulator: the passwords of roles on your own server are not touched.
 */
import { randomBytes } from 'node:crypto';
import { quoteIdent } from '../sql/quote.js';
import { connectUpstream, runUpstreamSql, UpstreamError, type UpstreamSession, type UpstreamTarget } from './connect.js';
import { scramSecret } from './scram.js';

/**
 * SCRAM iterations of the emulator's role passwords. The passwords are 144 random bits, so key
 * stretching adds nothing; a low count keeps each role login cheap (PBKDF2 runs on every login).
 */
const ROLE_SCRAM_ITERATIONS = 64;

/** Logs non-admin roles in to the upstream as themselves, with passwords the emulator sets. */
export class RoleLogins {
  private readonly passwords = new Map<string, Promise<string>>();

  /** `superuser`: the upstream target used to set passwords. */
  constructor(private readonly superuser: UpstreamTarget) {}

  /**
   * An upstream session logged in as `role` (to `target`'s host and database). Rejects with the
   * upstream's error: 42704 when the role does not exist, 28000 when it may not log in.
   */
  async connect(role: string, target: UpstreamTarget, params: Record<string, string>): Promise<UpstreamSession> {
    const password = this.password(role);
    try {
      return await connectUpstream({ ...target, user: role, password: await password }, params);
    } catch (err) {
      // 28P01: the role was created again (with no password) since its password was set.
      if (!(err instanceof UpstreamError) || err.fields.get('C') !== '28P01') throw err;
    }
    if (this.passwords.get(role) === password) this.passwords.delete(role);
    return connectUpstream({ ...target, user: role, password: await this.password(role) }, params);
  }

  /** The role's password; set upstream once (concurrent logins of a new role share one set-up). */
  private password(role: string): Promise<string> {
    let p = this.passwords.get(role);
    if (!p) {
      const created = this.assign(role);
      p = created;
      this.passwords.set(role, created);
      created.catch(() => {
        if (this.passwords.get(role) === created) this.passwords.delete(role);
      });
    }
    return p;
  }

  private async assign(role: string): Promise<string> {
    const password = randomBytes(18).toString('base64url');
    const secret = scramSecret(password, ROLE_SCRAM_ITERATIONS);
    await runUpstreamSql(this.superuser, [`ALTER ROLE ${quoteIdent(role)} PASSWORD '${secret}'`]);
    return password;
  }
}
