/**
 * Version of @dsql/opentelemetry: the instrumentation scope version of its meter and tracer. Kept equal to package.json by a test.
 *
 * @example
 * console.log(`@dsql/opentelemetry ${VERSION}`);
 */
export const VERSION = '0.1.0';
