// Writes each jest run's totals to <repo>/.test-results/<package>.json so that
// `pnpm test` and .ci/run can print one `N passed, N failed` line over all packages.
const fs = require('node:fs');
const path = require('node:path');

class JestTotalsReporter {
  constructor(_globalConfig, options = {}) {
    this.name = options.name ?? 'unnamed';
  }

  onRunComplete(_contexts, results) {
    const dir = path.join(__dirname, '..', '.test-results');
    fs.mkdirSync(dir, { recursive: true });
    const totals = {
      name: this.name,
      passed: results.numPassedTests,
      failed: results.numFailedTests,
      skipped: results.numPendingTests + results.numTodoTests,
      // A suite that failed to run (syntax error, failed hook) counts as one failure.
      suitesFailedToRun: results.numRuntimeErrorTestSuites,
      success: results.success,
      // The Node.js that ran the suite: scripts/matrix.mjs runs the suites again on other lines.
      node: process.versions.node,
      // What failed, so that the end of CI's log (often all that is kept) says which test and why.
      failures: failuresOf(results),
    };
    // One file per jest process: a package may run jest more than once (e.g. against two
    // versions of a peer), and every run counts.
    fs.writeFileSync(path.join(dir, `${this.name}.${process.pid}.json`), JSON.stringify(totals, null, 2));
  }
}

function failuresOf(results) {
  const root = path.join(__dirname, '..');
  const out = [];
  for (const file of results.testResults) {
    const where = path.relative(root, file.testFilePath);
    if (file.testExecError) out.push({ file: where, test: '(suite failed to run)', message: firstLine(file.testExecError.message) });
    for (const t of file.testResults) {
      if (t.status === 'failed') {
        const message = firstLine(t.failureMessages[0] ?? '');
        const cause = rootCause(t.failureDetails?.[0]);
        out.push({ file: where, test: t.fullName, message: cause ? `${message}\n       caused by: ${cause}` : message });
      }
    }
  }
  return out;
}

// The innermost `cause` of a wrapped error (Drizzle's 'Failed query: …' hides the SQLSTATE),
// with its code: the first line alone rarely says why.
function rootCause(detail) {
  let node = detail;
  let depth = 0;
  while (node && typeof node === 'object' && node.cause && typeof node.cause === 'object' && depth++ < 8) node = node.cause;
  if (node === detail || !node || typeof node !== 'object') return undefined;
  const code = typeof node.code === 'string' ? `${node.code} ` : '';
  return firstLine(`${code}${node.message ?? ''}`) || undefined;
}

// Jest's messages carry ANSI colours and a stack; one plain line is enough to find the test.
function firstLine(text) {
  // eslint-disable-next-line no-control-regex -- the ANSI escape (ESC) is what is removed
  const plain = String(text).replace(/\u001b\[[0-9;]*m/g, '');
  const line = plain.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.trim().slice(0, 300);
}

module.exports = JestTotalsReporter;
