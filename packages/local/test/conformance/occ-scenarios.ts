/**
 * Two-session sequences for `occ_conflict.json`, whose SQL was not recorded: each reproduces
 * the case's note against the fixture's `baseline_conflict` rows. A step is
 * `[session index, sql]`; sessions interleave in the order listed.
 */
export type OccStep = readonly [0 | 1, string];

const row = (suffix: string) => `'00000000-0000-0000-0000-0000000000${suffix}'`;

/** The recorded conflict cases by name. */
export const OCC_SCENARIOS: Record<string, readonly OccStep[]> = {
  // Two writers to one row: the second to commit loses.
  occ_write_write: [
    [0, 'BEGIN'],
    [1, 'BEGIN'],
    [0, `UPDATE baseline_conflict SET name = 'ww-a' WHERE id = ${row('ac')}`],
    [1, `UPDATE baseline_conflict SET name = 'ww-b' WHERE id = ${row('ac')}`],
    [1, 'COMMIT'],
    [0, 'COMMIT'],
  ],
  // A row read FOR UPDATE, then written and committed by another session: the reader loses.
  occ_for_update_vs_write: [
    [0, 'BEGIN'],
    [1, 'BEGIN'],
    [0, `SELECT name FROM baseline_conflict WHERE id = ${row('ac')} FOR UPDATE`],
    [1, `UPDATE baseline_conflict SET name = 'fu-b' WHERE id = ${row('ac')}`],
    [1, 'COMMIT'],
    [0, 'COMMIT'],
  ],
  // FOR KEY SHARE commits first; deleting the key afterwards loses.
  occ_for_key_share_vs_delete: [
    [0, 'BEGIN'],
    [1, 'BEGIN'],
    [0, `SELECT name FROM baseline_conflict WHERE id = ${row('ac')} FOR KEY SHARE`],
    [1, `DELETE FROM baseline_conflict WHERE id = ${row('ac')}`],
    [0, 'COMMIT'],
    [1, 'COMMIT'],
  ],
  // Deleting a referenced row while another session inserts a row referencing it.
  occ_fk_delete_insert: [
    [0, 'BEGIN'],
    [1, 'BEGIN'],
    [0, `DELETE FROM baseline_conflict WHERE id = ${row('ab')}`],
    [1, `INSERT INTO baseline_conflict_child (id, parent_id) VALUES (${row('e1')}, ${row('ab')})`],
    [0, 'COMMIT'],
    [1, 'COMMIT'],
  ],
  // A non-key update of the referenced row does not conflict with a referencing insert.
  occ_fk_nonkey_update: [
    [0, 'BEGIN'],
    [1, 'BEGIN'],
    [0, `UPDATE baseline_conflict SET name = 'nonkey' WHERE id = ${row('af')}`],
    [1, `INSERT INTO baseline_conflict_child (id, parent_id) VALUES (${row('e2')}, ${row('af')})`],
    [0, 'COMMIT'],
    [1, 'COMMIT'],
  ],
  // Writes to different rows do not conflict.
  occ_disjoint_writes: [
    [0, 'BEGIN'],
    [1, 'BEGIN'],
    [0, `UPDATE baseline_conflict SET name = 'disjoint-a2' WHERE id = ${row('ad')}`],
    [1, `UPDATE baseline_conflict SET name = 'disjoint-b2' WHERE id = ${row('ae')}`],
    [0, 'COMMIT'],
    [1, 'COMMIT'],
  ],
};
