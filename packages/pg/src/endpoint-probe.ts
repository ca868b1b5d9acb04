// The probe core's failover router runs to learn that an unhealthy endpoint answers again: one
// real connection (TLS, the endpoint's own token, the startup) with a plain pg.Client, closed at
// once. Runtime class from pg's default import, types from a namespace import (see client.ts).
import pgModule from 'pg';
import type * as pg from 'pg';
import type { DsqlEndpointSession, EndpointProbe } from '@dsql/core';
import { endpointPgOptions, PREPARED, type PreparedDsql } from './config.js';

/**
 * A probe of any endpoint of the session `options` were prepared for: connects a plain
 * `pg.Client` with that endpoint's options (never a `DsqlClient`: no rate-limit wait, no retry,
 * no pool), and ends it. Rejects when the connection fails or `signal` aborts first.
 *
 * @example
 * session.router.useProbe(probeWith(pgOptions));
 */
export function probeWith(options: pg.PoolConfig & { [PREPARED]: PreparedDsql }): EndpointProbe<DsqlEndpointSession> {
  return async (endpoint, signal) => {
    const { [PREPARED]: _prepared, ...plain } = endpointPgOptions(options, endpoint);
    const client = new pgModule.Client({ ...plain, connectionTimeoutMillis: 0 });
    client.on('error', () => {}); // a late socket error of a probe goes nowhere
    const abort = (): void => void client.end().catch(() => undefined);
    signal.addEventListener('abort', abort, { once: true });
    try {
      await client.connect();
    } finally {
      signal.removeEventListener('abort', abort);
      await client.end().catch(() => undefined);
    }
  };
}
