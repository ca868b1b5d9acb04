import { SessionActivity } from '../src/connect/session-activity.js';

// Protocol messages as the wire carries them: type byte, int32 length (itself included), body.
const message = (type: string, body: Buffer = Buffer.alloc(0)): Buffer => {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
};
const parse = message('P', Buffer.from('\0select 1\0\0\0'));
const bind = message('B', Buffer.from('\0\0\0\0\0\0\0\0'));
const execute = message('E', Buffer.from('\0\0\0\0\0'));
const describePortal = message('D', Buffer.from('P\0'));
const flush = message('H');
const sync = message('S');
const query = (sql: string) => message('Q', Buffer.from(`${sql}\0`));
const ready = (status: 'I' | 'T' | 'E') => message('Z', Buffer.from(status));
const answer = Buffer.concat([message('1'), message('2'), message('D', Buffer.from('\0\x01\0\0\0\x011')), message('C', Buffer.from('SELECT 1\0'))]);

const sent = (bytes: Buffer) => ['sent', bytes] as const;
const received = (bytes: Buffer) => ['received', bytes] as const;

/** Feeds `steps` to a new SessionActivity in order: its state at the start, then after each step ('idle' or 'busy'). */
function statesAlong(...steps: ReadonlyArray<ReturnType<typeof sent> | ReturnType<typeof received>>): string {
  const a = new SessionActivity();
  const state = (): string => (a.idle ? 'idle' : 'busy');
  return [state(), ...steps.map(([direction, bytes]) => (a[direction](bytes), state()))].join(' ');
}

describe('SessionActivity', () => {
  it('is idle after the handshake, busy from a request until its ReadyForQuery', () => {
    expect(statesAlong(sent(Buffer.concat([parse, bind, describePortal, execute, sync])), received(answer), received(ready('I')))).toBe('idle busy busy idle');
  });

  it('counts pipelined requests: idle only once every one is answered', () => {
    const answered = Buffer.concat([answer, ready('I')]);
    expect(statesAlong(sent(Buffer.concat([parse, bind, execute, sync, bind, execute, sync])), sent(query('select 2')), received(answered), received(answered), received(answered))).toBe('idle busy busy busy busy idle');
  });

  it('is not idle inside a transaction, nor in a failed one', () => {
    expect(statesAlong(sent(query('begin')), received(ready('T')), sent(query('select x')), received(ready('E')), sent(query('rollback')), received(ready('I')))).toBe('idle busy busy busy busy busy idle');
  });

  it('is not idle while a batch sent with Flush has no Sync yet (a cursor reading rows)', () => {
    expect(statesAlong(sent(Buffer.concat([parse, bind, describePortal, execute, flush])), received(answer), sent(sync), received(ready('I')))).toBe('idle busy busy busy idle');
  });

  it('reads messages split anywhere across chunks, headers included', () => {
    const a = new SessionActivity();
    const out = Buffer.concat([parse, bind, execute, sync]);
    for (let i = 0; i < out.length; i++) a.sent(out.subarray(i, i + 1));
    const back = Buffer.concat([answer, ready('T'), message('N', Buffer.alloc(300, 0x41)), ready('I')]);
    a.sent(query('commit'));
    // Byte by byte: the status byte of each ReadyForQuery arrives in a chunk of its own.
    for (let i = 0; i < back.length; i++) {
      a.received(back.subarray(i, i + 1));
      if (i === back.length - 1) expect(a.idle).toBe(true);
      else expect(a.idle).toBe(false);
    }
  });

  it('a COPY started by a simple Query ends with its ReadyForQuery', () => {
    const copyIn = message('G', Buffer.from('\0\0\0'));
    const rows = Buffer.concat([message('d', Buffer.from('1\n')), message('c')]);
    const done = Buffer.concat([message('C', Buffer.from('COPY 1\0')), ready('I')]);
    expect(statesAlong(sent(query('copy t from stdin')), received(copyIn), sent(rows), received(done))).toBe('idle busy busy busy idle');
  });

  describe('with a statement watch (endpointProbe.suspectAfterMs)', () => {
    /** What the router's watch was told, in order: + started, - answered, x closed. */
    const recording = () => {
      const calls: string[] = [];
      return { calls, watch: { started: () => calls.push('+'), answered: () => calls.push('-'), close: () => calls.push('x') } };
    };

    it('reports each Sync or simple Query as started and its ReadyForQuery as answered, pipelined ones included', () => {
      const { calls, watch } = recording();
      const a = new SessionActivity(watch);
      a.sent(Buffer.concat([parse, bind, execute, sync, bind, execute, sync]));
      a.sent(query('select 2'));
      expect(calls.join('')).toBe('+++');
      const answered = Buffer.concat([answer, ready('I')]);
      a.received(answered);
      a.received(Buffer.concat([answered, answered]));
      expect(calls.join('')).toBe('+++---');
      a.closed();
      expect(calls.join('')).toBe('+++---x');
    });

    it('does not count a batch sent with Flush until its Sync (a cursor reading rows at its holder\'s pace)', () => {
      const { calls, watch } = recording();
      const a = new SessionActivity(watch);
      a.sent(Buffer.concat([parse, bind, describePortal, execute, flush]));
      a.received(answer);
      expect(calls).toEqual([]);
      a.sent(sync);
      a.received(ready('I'));
      expect(calls.join('')).toBe('+-');
    });

    it('reads a ReadyForQuery split across chunks once', () => {
      const { calls, watch } = recording();
      const a = new SessionActivity(watch);
      a.sent(query('select 1'));
      const back = Buffer.concat([answer, ready('I')]);
      for (let i = 0; i < back.length; i++) a.received(back.subarray(i, i + 1));
      expect(calls.join('')).toBe('+-');
    });
  });
});
