/**
 * What a client learns at startup: the ParameterStatus messages relayed from PostgreSQL, with
 * DSQL's `server_version` in place of the upstream's own.
 */
import pg from 'pg';
import { passThroughRules, startDsqlLocal, type DsqlLocal } from '../src/index.js';
import { DSQL_SERVER_VERSION } from '../src/sql/index.js';
import { connectPostgresJs, pgConfig, token } from './helpers.js';

let dsql: DsqlLocal;
beforeAll(async () => {
  dsql = await startDsqlLocal();
}, 60_000);
afterAll(async () => {
  await dsql?.stop();
});

/** Connects node-postgres and collects every ParameterStatus it receives. */
async function startupParameters(d: DsqlLocal): Promise<{ client: pg.Client; parameters: Map<string, string> }> {
  const client = new pg.Client(pgConfig(d, await token(d)));
  const parameters = new Map<string, string>();
  client.connection.on('parameterStatus', (m: { parameterName: string; parameterValue: string }) => {
    parameters.set(m.parameterName, m.parameterValue);
  });
  await client.connect();
  return { client, parameters };
}

describe('startup ParameterStatus', () => {
  it("reports DSQL's server_version to node-postgres, and relays the other parameters", async () => {
    const { client, parameters } = await startupParameters(dsql);
    try {
      expect(DSQL_SERVER_VERSION).toBe('16.15');
      expect(parameters.get('server_version')).toBe('16.15');
      // The rest is PostgreSQL's own, with the session settings the proxy asked for.
      expect(parameters.get('TimeZone')).toBe('UTC');
      expect(parameters.get('client_encoding')).toBe('UTF8');
      expect(parameters.get('is_superuser')).toBe('on');
      // And it agrees with what the server says when asked.
      expect((await client.query('SHOW server_version')).rows).toEqual([{ server_version: '16.15' }]);
    } finally {
      await client.end();
    }
  });

  it("shows it to Postgres.js (onparameter, sql.options.parameters)", async () => {
    const seen = new Map<string, string>();
    const sql = await connectPostgresJs(dsql, { onparameter: (key, value) => seen.set(key, value) });
    try {
      await sql`SELECT 1`;
      expect(seen.get('server_version')).toBe('16.15');
      // Kept at run time, though its typings do not declare it.
      expect((sql.options as unknown as { parameters: Record<string, string> }).parameters.server_version).toBe('16.15');
    } finally {
      await sql.end();
    }
  });

  it('reports the version the rules give, and DSQL\'s with rules that give none', async () => {
    // Rules without bootstrap SQL: the shared upstream is left as it is.
    const cases = [
      { rules: { serverVersion: '16.9', newSession: passThroughRules.newSession }, expected: '16.9' },
      { rules: passThroughRules, expected: DSQL_SERVER_VERSION },
    ];
    for (const { rules, expected } of cases) {
      const d = await startDsqlLocal({ upstream: dsql.upstreamUrl, credentials: dsql.credentials, rules });
      try {
        const { client, parameters } = await startupParameters(d);
        await client.end();
        expect(parameters.get('server_version')).toBe(expected);
      } finally {
        await d.stop();
      }
    }
  });
});
