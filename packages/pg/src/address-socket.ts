import * as net from 'node:net';

/**
 * A TCP socket that dials a fixed address whatever host node-postgres asks for.
 *
 * node-postgres uses its `host` option for three things at once: the address it dials, the TLS
 * SNI name and the name the certificate is checked against. DSQL's `hostaddr` needs them apart:
 * dial a VPC endpoint address while SNI, certificate check and IAM token keep naming the
 * cluster. pg accepts a `stream` factory, so keeping `host` = cluster name and swapping only the
 * dialled address here leaves pg's own TLS upgrade (SNI + verify-full against `host`) untouched,
 * including when `hostaddr` is itself a name (pg would otherwise send it as SNI).
 */
class AddressSocket extends net.Socket {
  readonly #address: string;

  constructor(address: string) {
    super();
    this.#address = address;
  }

  // pg calls `connect(port, host)`; anything else (a Unix socket path) is passed on unchanged.
  override connect(...args: unknown[]): this {
    const [port, host] = args;
    if ((typeof port === 'number' || typeof port === 'string') && typeof host === 'string') {
      return super.connect(Number(port), this.#address);
    }
    return (super.connect as (...a: unknown[]) => this)(...args);
  }
}

/**
 * Returns a pg `stream` factory whose sockets dial `address` (an IP or a name) instead of pg's `host`.
 *
 * @example
 * new pg.Client({ host: 'abc.dsql.us-east-1.on.aws', stream: dialAddress('10.0.0.12'), ssl: true });
 */
export function dialAddress(address: string): () => net.Socket {
  return () => new AddressSocket(address);
}
