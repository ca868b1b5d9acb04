// Runs @dsql/local in its own process (as the `dsql-local` CLI does), so a benchmark's clients and
// the proxy do not share one event loop. Options arrive as JSON in argv[2] (`rules: 'passthrough'`
// selects passThroughRules). Prints the connection details as one JSON line; answers `stats` and
// `inject` messages over IPC; stops on SIGTERM, on stdin end or when the parent goes away.
import { passThroughRules, startDsqlLocal } from '@dsql/local';

const { rules, ...options } = JSON.parse(process.argv[2] ?? '{}');
const dsql = await startDsqlLocal({ ...options, rules: rules === 'passthrough' ? passThroughRules : undefined });
const { host, hostaddr, port, region, clusterId, ca, credentials, upstreamUrl, webSocketUrl } = dsql;
// A plain copy of the credentials: DsqlLocal's own object leaves the secret out of its JSON.
process.stdout.write(`${JSON.stringify({ host, hostaddr, port, region, clusterId, ca, credentials: { ...credentials }, upstreamUrl, webSocketUrl })}\n`);
process.on('message', (msg) => {
  if (msg?.type === 'stats') process.send?.({ id: msg.id, stats: dsql.stats() });
  if (msg?.type === 'inject') {
    try {
      dsql.inject(msg.fault);
      process.send?.({ id: msg.id });
    } catch (err) {
      process.send?.({ id: msg.id, error: String(err?.message ?? err) });
    }
  }
});
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  dsql.stop().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('disconnect', stop);
process.stdin.on('end', stop);
process.stdin.resume();
