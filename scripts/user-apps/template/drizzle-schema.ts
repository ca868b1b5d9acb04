// What `drizzle-kit generate` turns into the ./drizzle folder the root README's Drizzle quick
// start applies with migrate(): a table and an index (CREATE INDEX becomes CREATE INDEX ASYNC).
import { index, pgTable, text, uuid } from 'drizzle-orm/pg-core';

export const notes = pgTable('quickstart_notes', {
  id: uuid('id').primaryKey().defaultRandom(),
  body: text('body').notNull(),
}, (t) => [index('quickstart_notes_body').on(t.body)]);
