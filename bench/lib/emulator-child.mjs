// Runs @dsql/local in its own process (as `dsql-local` does), so the benchmark's client and the
// proxy do not share one event loop. Prints the connection details as one JSON line; stops on
// SIGTERM or when the parent goes away.
import { passThroughRules, startDsqlLocal } from '@dsql/local';

const dsql = await startDsqlLocal({ rules: process.env.RULES === 'passthrough' ? passThroughRules : undefined });
const { host, hostaddr, port, region, ca, credentials, upstreamUrl } = dsql;
process.stdout.write(`${JSON.stringify({ host, hostaddr, port, region, ca, credentials, upstreamUrl })}\n`);
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
