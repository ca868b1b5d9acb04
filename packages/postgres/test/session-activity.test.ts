import { SessionActivity } from '../src/session-activity.js';

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

describe('SessionActivity', () => {
  it('is idle after the handshake, busy from a request until its ReadyForQuery', () => {
    const a = new SessionActivity();
    expect(a.idle).toBe(true);
    a.sent(Buffer.concat([parse, bind, describePortal, execute, sync]));
    expect(a.idle).toBe(false);
    a.received(answer);
    expect(a.idle).toBe(false);
    a.received(ready('I'));
    expect(a.idle).toBe(true);
  });

  it('counts pipelined requests: idle only once every one is answered', () => {
    const a = new SessionActivity();
    a.sent(Buffer.concat([parse, bind, execute, sync, bind, execute, sync]));
    a.sent(query('select 2'));
    a.received(Buffer.concat([answer, ready('I')]));
    expect(a.idle).toBe(false);
    a.received(Buffer.concat([answer, ready('I')]));
    expect(a.idle).toBe(false);
    a.received(Buffer.concat([answer, ready('I')]));
    expect(a.idle).toBe(true);
  });

  it('is not idle inside a transaction, nor in a failed one', () => {
    const a = new SessionActivity();
    a.sent(query('begin'));
    a.received(ready('T'));
    expect(a.idle).toBe(false);
    a.sent(query('select x'));
    a.received(ready('E'));
    expect(a.idle).toBe(false);
    a.sent(query('rollback'));
    a.received(ready('I'));
    expect(a.idle).toBe(true);
  });

  it('is not idle while a batch sent with Flush has no Sync yet (a cursor reading rows)', () => {
    const a = new SessionActivity();
    a.sent(Buffer.concat([parse, bind, describePortal, execute, flush]));
    a.received(answer);
    expect(a.idle).toBe(false);
    a.sent(sync);
    expect(a.idle).toBe(false);
    a.received(ready('I'));
    expect(a.idle).toBe(true);
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
    const a = new SessionActivity();
    a.sent(query('copy t from stdin'));
    a.received(message('G', Buffer.from('\0\0\0')));
    a.sent(Buffer.concat([message('d', Buffer.from('1\n')), message('c')]));
    a.received(Buffer.concat([message('C', Buffer.from('COPY 1\0')), ready('I')]));
    expect(a.idle).toBe(true);
  });
});
