import { DsqlConfigError } from '../errors/errors.js';
import { describeValue } from '../errors/redact.js';

/**
 * An AWS Region name such as `us-east-1`, `eu-central-2`, `us-gov-west-1`.
 * @internal
 */
export const REGION_PATTERN = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;

/**
 * Validates and lower-cases a Region name. Throws a {@link DsqlConfigError} naming `field`.
 * @internal
 */
export function checkRegion(value: unknown, field = 'region'): string {
  if (typeof value === 'string') {
    const r = value.trim().toLowerCase();
    if (REGION_PATTERN.test(r)) return r;
  }
  throw new DsqlConfigError(field, describeValue(value), 'an AWS Region name such as "us-east-1"');
}

/** Region from the environment (`AWS_REGION`, then `AWS_DEFAULT_REGION`), validated. @internal */
export function regionFromEnv(env: Record<string, string | undefined>): string | undefined {
  if (env.AWS_REGION) return checkRegion(env.AWS_REGION, 'AWS_REGION');
  if (env.AWS_DEFAULT_REGION) return checkRegion(env.AWS_DEFAULT_REGION, 'AWS_DEFAULT_REGION');
  return undefined;
}
