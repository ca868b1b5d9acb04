/**
 * DSQL's refusals as the emulator answers them. The texts live in `@dsql/core/rules`
 * (`dsqlRefusals`), word for word as a real cluster answers where one was recorded; this module
 * only gives them the emulator's error type.
 */
import { dsqlRefusals, FEATURE_NOT_SUPPORTED } from '@dsql/core/rules';
import type { SqlError } from './hook.js';

export { FEATURE_NOT_SUPPORTED };

/**
 * The texts DSQL answers with (core's `dsqlRefusals`, typed as the emulator's `SqlError`).
 *
 * @example
 * dsqlErrors.datatype('money'); // { code: '0A000', message: 'datatype money not supported' }
 */
export const dsqlErrors: { [K in keyof typeof dsqlRefusals]: (...args: Parameters<(typeof dsqlRefusals)[K]>) => SqlError } =
  dsqlRefusals;
