/**
 * AWS credentials, structurally identical to the SDK's `AwsCredentialIdentity`, so SDK
 * providers and identities are accepted as they are without a dependency on `@smithy/types`.
 *
 * @example
 * const creds: AwsCredentials = { accessKeyId: 'AKIA…', secretAccessKey: '…' };
 */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  /** When temporary credentials stop working. */
  readonly expiration?: Date;
}

/**
 * A function that resolves credentials, like the SDK's `fromIni()` or `fromNodeProviderChain()`.
 *
 * @example
 * const provider: AwsCredentialsProvider = fromIni({ profile: 'dev' });
 */
export type AwsCredentialsProvider = () => Promise<AwsCredentials>;

/**
 * Credentials as accepted by options: an identity object or a provider function.
 *
 * @example
 * resolveConfig({ host, credentials: fromNodeProviderChain() satisfies CredentialsInput });
 */
export type CredentialsInput = AwsCredentials | AwsCredentialsProvider;
