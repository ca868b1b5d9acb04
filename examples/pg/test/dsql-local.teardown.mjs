// Jest globalTeardown: stops the endpoint and its embedded PostgreSQL (also after failed tests).
export default async function teardown() {
  await globalThis.dsqlLocal?.stop();
}
