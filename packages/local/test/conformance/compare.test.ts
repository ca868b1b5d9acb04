/** The conformance comparator must notice every kind of difference, or the floor means nothing. */
import { compare, recordingFormat } from './replay.js';

describe('conformance comparator', () => {
  const ok = { outcome: 'ok' as const, command_tag: 'SELECT 1', columns: ['n'], rows: [['1']] };

  it('matches identical answers', () => {
    expect(compare(ok, { ...ok }, false)).toBeUndefined();
    expect(compare({ outcome: 'error', sqlstate: '0A000', message: 'm' }, { outcome: 'error', sqlstate: '0A000', message: 'm' }, false)).toBeUndefined();
  });

  it('reports a different outcome, SQLSTATE, message, tag, column or row', () => {
    expect(compare(ok, { outcome: 'error', sqlstate: '0A000', message: 'm' }, false)).toMatch(/expected ok/);
    expect(compare({ outcome: 'error', sqlstate: '0A000', message: 'm' }, { outcome: 'error', sqlstate: '42704', message: 'm' }, false)).toMatch(/42704/);
    expect(compare({ outcome: 'error', sqlstate: '0A000', message: 'm' }, { outcome: 'error', sqlstate: '0A000', message: 'n' }, false)).toMatch(/"n"/);
    expect(compare(ok, { ...ok, command_tag: 'SELECT 2' }, false)).toMatch(/tag SELECT 2/);
    expect(compare(ok, { ...ok, columns: ['m'] }, false)).toMatch(/columns/);
    expect(compare(ok, { ...ok, rows: [['2']] }, false)).toMatch(/rows/);
    expect(compare(ok, { ...ok, rows: [] }, false)).toMatch(/rows/);
  });

  it('ignores rows and the row count in the tag only with ignore_rows', () => {
    expect(compare(ok, { ...ok, command_tag: 'SELECT 9', rows: [['x']] }, true)).toBeUndefined();
    expect(compare(ok, { ...ok, command_tag: 'INSERT 0 1' }, true)).toMatch(/tag/);
  });

  it('compares multi-statement results one by one', () => {
    const multi = { outcome: 'ok' as const, results: [{ command_tag: 'BEGIN' }, { command_tag: 'COMMIT' }] };
    expect(compare(multi, multi, false)).toBeUndefined();
    expect(compare(multi, { outcome: 'ok', results: [{ command_tag: 'BEGIN' }] }, false)).toMatch(/1 results, expected 2/);
    expect(compare(multi, { outcome: 'ok', results: [{ command_tag: 'BEGIN' }, { command_tag: 'ROLLBACK' }] }, false)).toMatch(
      /statement 2: tag ROLLBACK/,
    );
  });

  it('accepts any job id of DSQL’s shape, and nothing else, in a job_id column', () => {
    const job = { outcome: 'ok' as const, command_tag: 'CREATE INDEX', columns: ['job_id'], rows: [['77e6id3hjbasddybtihl43gega']] };
    expect(compare(job, { ...job, rows: [['qfzv5uemkrg2lbczil2fim3o2q']] }, false)).toBeUndefined();
    expect(compare(job, { ...job, rows: [['not-a-job']] }, false)).toMatch(/rows/);
  });
});

describe('recording format of cells', () => {
  it('prints values as the recording client did', () => {
    expect(recordingFormat('00000000-0000-0000-0000-0000000000aa', 2950)).toBe('[0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 170]');
    expect(recordingFormat('{1,2,3}', 1009)).toBe('[1 2 3]');
    expect(recordingFormat('127.0.0.1', 869)).toBe('127.0.0.1/32');
    expect(recordingFormat(null, 25)).toBe('NULL');
    expect(recordingFormat('{"a":1}', 3802)).toBe('{"a":1}');
    expect(recordingFormat('{}', 3802)).toBe('{}');
    expect(recordingFormat('{x}', 25)).toBe('{x}');
  });
});
