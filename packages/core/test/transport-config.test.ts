import { inspect } from 'node:util';
import { resolveConfig, DsqlConfigError } from '../src/index.js';
import { resolveEndpoints } from '../src/failover/resolve-endpoints.js';
import { CREDS, HOST } from './helpers.js';

class FakeWebSocket {}

describe('transport options', () => {
  it("default to 'tcp' with no WebSocket URL", () => {
    const c = resolveConfig({ host: HOST, credentials: CREDS }, undefined, {});
    expect(c.transport).toBe('tcp');
    expect(c.webSocketUrl).toBeUndefined();
    expect(c.webSocketConstructor).toBeUndefined();
  });

  it("'websocket' defaults the URL to wss://<host>:443 and keeps the constructor out of JSON and inspect", () => {
    const c = resolveConfig({ host: HOST, credentials: CREDS, transport: 'websocket', webSocketConstructor: FakeWebSocket as never }, undefined, {});
    expect(c.transport).toBe('websocket');
    expect(c.webSocketUrl).toBe(`wss://${HOST}:443`);
    expect(c.webSocketConstructor).toBe(FakeWebSocket);
    expect(JSON.stringify(c)).not.toContain('webSocketConstructor');
    expect(inspect(c)).not.toContain('FakeWebSocket');
  });

  it('takes an explicit wss:// URL', () => {
    const c = resolveConfig({ host: HOST, credentials: CREDS, transport: 'websocket', webSocketUrl: 'wss://127.0.0.1:8443/' }, undefined, {});
    expect(c.webSocketUrl).toBe('wss://127.0.0.1:8443');
  });

  it.each([
    [{ transport: 'udp' }, 'transport', /'tcp' or 'websocket'/],
    [{ transport: 'websocket', webSocketUrl: 'ws://example.com' }, 'webSocketUrl', /a wss:\/\/ URL/],
    [{ transport: 'websocket', webSocketUrl: 'wss://user:secret@example.com' }, 'webSocketUrl', /credentials never go in it/],
    [{ transport: 'websocket', webSocketUrl: 42 }, 'webSocketUrl', /a wss:\/\/ URL/],
    [{ transport: 'websocket', webSocketConstructor: 'ws' }, 'webSocketConstructor', /a WebSocket constructor/],
  ])('refuses %j naming the field', (bad, field, accepted) => {
    let err: unknown;
    try {
      resolveConfig({ host: HOST, credentials: CREDS, ...(bad as object) }, undefined, {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DsqlConfigError);
    expect((err as DsqlConfigError).field).toBe(field);
    expect((err as Error).message).toMatch(accepted);
    expect((err as Error).message).not.toContain('secret');
  });

  it("refuses 'websocket' without TLS", () => {
    expect(() => resolveConfig({ host: 'localhost', region: 'us-east-1', credentials: CREDS, sslmode: 'disable', transport: 'websocket' }, undefined, {})).toThrow(
      /transport.*over WebSocket TLS is always on/s,
    );
  });

  it('refuses one webSocketUrl beside several endpoints', () => {
    expect(() =>
      resolveEndpoints({ endpoints: [HOST, 'bbbbbbbbbbbbbbbbbbbbbbbbbb.dsql.us-east-2.on.aws'], transport: 'websocket', webSocketUrl: 'wss://x.example:443', credentials: CREDS }, undefined, {}),
    ).toThrow(/webSocketUrl.*each endpoint is reached at wss:\/\/<its host>:443/s);
  });
});
