// One @dsql/local per scenario, in a child process by default (EMULATOR=inprocess to share the
// benchmark's event loop, as integration tests do). Both shapes expose the same surface.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/**
 * Starts an emulator with `startDsqlLocal(options)`'s options (JSON-serialisable; `rules:
 * 'passthrough'` for pass-through SQL rules).
 *
 * @returns {Promise<{ host: string, hostaddr: string, port: number, region: string, ca: string,
 *   credentials: object, upstreamUrl: string, pid: number, connectionOptions(): object, stats(): Promise<object>,
 *   inject(fault: object): Promise<void>, stop(): Promise<void> }>}
 */
export async function startEmulator(options = {}) {
  if (process.env.EMULATOR === 'inprocess') {
    const { passThroughRules, startDsqlLocal } = await import('@dsql/local');
    const { rules, ...rest } = options;
    const dsql = await startDsqlLocal({ ...rest, rules: rules === 'passthrough' ? passThroughRules : undefined });
    return {
      host: dsql.host,
      hostaddr: dsql.hostaddr,
      port: dsql.port,
      region: dsql.region,
      ca: dsql.ca,
      credentials: dsql.credentials,
      upstreamUrl: dsql.upstreamUrl,
      webSocketUrl: dsql.webSocketUrl,
      pid: process.pid,
      connectionOptions: () => dsql.connectionOptions(),
      stats: async () => dsql.stats(),
      inject: async (fault) => dsql.inject(fault),
      stop: () => dsql.stop(),
    };
  }
  // EMULATOR_NODE_ARGS: extra Node flags for the child, e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the proxy.
  const nodeArgs = process.env.EMULATOR_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, new URL('./emulator-child.mjs', import.meta.url).pathname, JSON.stringify(options)], {
    stdio: ['pipe', 'pipe', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit');
  const first = await Promise.race([once(createInterface({ input: child.stdout }), 'line'), exited.then(([code]) => Promise.reject(new Error(`emulator exited with ${code}`)))]);
  const info = JSON.parse(first[0]);
  let nextId = 0;
  const ask = (msg) =>
    new Promise((resolve, reject) => {
      const id = ++nextId;
      const onMessage = (reply) => {
        if (reply?.id !== id) return;
        child.off('message', onMessage);
        if (reply.error) reject(new Error(reply.error));
        else resolve(reply);
      };
      child.on('message', onMessage);
      child.send({ ...msg, id });
    });
  return {
    ...info,
    pid: child.pid,
    connectionOptions: () => ({
      host: info.host,
      hostaddr: info.hostaddr,
      port: info.port,
      region: info.region,
      user: 'admin',
      database: 'postgres',
      credentials: { ...info.credentials },
      ssl: { ca: info.ca },
    }),
    stats: async () => (await ask({ type: 'stats' })).stats,
    inject: async (fault) => void (await ask({ type: 'inject', fault })),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
