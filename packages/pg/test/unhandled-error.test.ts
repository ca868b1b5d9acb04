import { EventEmitter, errorMonitor } from 'node:events';
import { jest } from '@jest/globals';
import { emitErrorSafely } from '../src/unhandled-error.js';

// jest's sandboxed `process` does not pass 'warning' events on: the calls are what we check.
const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);

afterAll(() => emitWarning.mockRestore());

const TOKEN =
  'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws/?Action=DbConnectAdmin&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261124%2Fus-east-1%2Fdsql%2Faws4_request&X-Amz-Date=20261124T130827Z&X-Amz-Expires=900&X-Amz-Signature=' +
  'ab'.repeat(32) +
  '&X-Amz-SignedHeaders=host';

function emitter(): EventEmitter {
  const e = new EventEmitter();
  e.emit = function emit(this: EventEmitter, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'error') return EventEmitter.prototype.emit.call(this, event, ...args);
    return emitErrorSafely(this, 'DsqlPool', args, (...a) => EventEmitter.prototype.emit.call(this, 'error', ...a));
  };
  return e;
}

describe('emitErrorSafely', () => {
  it("with an 'error' listener: the listener gets the event and its arguments, no warning", () => {
    const e = emitter();
    const seen: unknown[][] = [];
    e.on('error', (...args) => seen.push(args));
    const err = new Error('Connection terminated unexpectedly');
    expect(e.emit('error', err, 'client')).toBe(true);
    expect(seen).toEqual([[err, 'client']]);
    expect(emitWarning).not.toHaveBeenCalled();
  });

  it('without one: does not throw, calls errorMonitor listeners, warns once per process and source, never with a token', () => {
    const e = emitter();
    const monitored: unknown[] = [];
    e.on(errorMonitor, (err) => monitored.push(err));
    const first = new Error(`password authentication failed; token ${TOKEN}`);
    expect(() => e.emit('error', first)).not.toThrow();
    expect(() => emitter().emit('error', new Error('Connection terminated unexpectedly'))).not.toThrow();
    expect(monitored).toEqual([first]);
    expect(emitWarning).toHaveBeenCalledTimes(1);
    const [message, options] = emitWarning.mock.calls[0]!;
    expect(options).toEqual({ type: 'DsqlWarning', code: 'DSQL_CONNECTION_LOST' });
    expect(message).toMatch(/^A DsqlPool connection was closed \(password authentication failed; token .*\[redacted\].*\) and no 'error' listener was attached\./);
    expect(message).not.toMatch(/X-Amz-Signature|AKIAIOSFODNN7EXAMPLE|abababab/);
    expect(message).toMatch(/This warning is shown once per process\.$/);
  });
});
