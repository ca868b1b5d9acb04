/**
 * Version of @dsql/core, used in the default `application_name`. Kept equal to package.json by a test.
 *
 * @example
 * console.log(`@dsql/core ${VERSION}`);
 */
export const VERSION = '0.1.0';
