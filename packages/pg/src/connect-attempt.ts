// One connection attempt of a DsqlClient: through its endpoint's connection rate limiter, then
// pg's own connect, each phase reported to core's diagnostics probe, the outcome to core's
// failover router (the endpoint's health) and to the limiter (an adaptive one backs off on 53400).
import type * as pg from 'pg';
import type { ConnectionProbe, DsqlEndpointSession, RoutedAttempt } from '@dsql/core';

type Done = (err: Error | undefined) => void;

/** What the client does once its connection opened, before the attempt's callback runs. */
export interface OpenedConnection {
  /** The connection is open (its endpoint's success already reported). */
  opened(): void;
  /** Then, while someone subscribes to core's diagnostics: the probe of the open connection. */
  watch(connection: ConnectionProbe): void;
}

/**
 * Runs one attempt of `client` to `attempt.endpoint`: `pgConnect` is pg's `Client#connect`;
 * `then` says what follows a success. `deadlineMs` bounds the wait for the limiter.
 *
 * @example
 * connectAttempt(client, attempt, 30_000, (done) => super.connect(done), { opened() {}, watch() {} }, callback);
 */
export function connectAttempt(
  client: pg.Client,
  attempt: RoutedAttempt<DsqlEndpointSession>,
  deadlineMs: number,
  pgConnect: (done: (err: Error | null | undefined) => void) => void,
  then: OpenedConnection,
  cb: Done,
): void {
  const limiter = attempt.endpoint.limiter;
  const probe = attempt.endpoint.probeConnectAttempt();
  const connect = (done: Done): void => {
    // The attempt's phases, from pg's connection events: TCP up ('connect'), TLS done ('sslconnect'), then authentication.
    const ssl = Boolean(client.ssl);
    client.connection.once('connect', () => {
      probe.tcpConnected();
      if (!ssl) probe.dialed();
    });
    if (ssl) client.connection.once('sslconnect', () => probe.dialed());
    pgConnect((err) => {
      if (err) {
        probe.failed(err);
        // A failure of the endpoint marks it unhealthy: the pool's next attempt goes elsewhere.
        attempt.failed(err);
      } else {
        attempt.succeeded();
        then.opened();
        const connection = probe.succeeded();
        if (connection) then.watch(connection);
      }
      done(err ?? undefined);
    });
  };
  if (!limiter) return connect(cb);
  // Every admitted attempt's outcome goes back to the limiter (an adaptive one backs off on 53400).
  const answered = (err: Error | undefined): void => {
    limiter.observe(err);
    cb(err);
  };
  probe.waitingForLimiter();
  limiter.acquire({ timeoutMs: deadlineMs }).then(
    () => {
      probe.admitted();
      // pg-pool's connectionTimeoutMillis destroys the (not yet connected) socket when it fires.
      if (client.connection.stream.destroyed) {
        const timeout = new Error('timeout expired while waiting for the connection rate limiter');
        probe.failed(timeout);
        return answered(timeout);
      }
      connect(answered);
    },
    (err: Error) => {
      probe.failed(err);
      cb(err);
    },
  );
}
