// Starts lib/relay-child.mjs (a bare TCP or TLS relay to PostgreSQL) in its own process.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/**
 * @param {{ tls?: { cert: string, key: string }, upstream: { path: string } | { host: string, port: number } }} options
 * @returns {Promise<{ port: number, pid: number, stop(): Promise<void> }>}
 */
export async function startRelay(options) {
  const child = spawn(process.execPath, [new URL('./relay-child.mjs', import.meta.url).pathname, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const exited = once(child, 'exit');
  const [line] = await Promise.race([once(createInterface({ input: child.stdout }), 'line'), exited.then(([code]) => Promise.reject(new Error(`relay exited with ${code}`)))]);
  return {
    port: Number(line),
    pid: child.pid,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
