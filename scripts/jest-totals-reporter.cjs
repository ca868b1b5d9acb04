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
    };
    // One file per jest process: a package may run jest more than once (e.g. against two
    // versions of a peer), and every run counts.
    fs.writeFileSync(path.join(dir, `${this.name}.${process.pid}.json`), JSON.stringify(totals, null, 2));
  }
}

module.exports = JestTotalsReporter;
