// Tables the README quick starts use (`accounts`, `schema.users`, `schema.posts`). prepare.ts
// creates them through @dsql/pg; this file only describes them to Drizzle.
import { relations } from 'drizzle-orm';
import { integer, pgTable, text, uuid } from 'drizzle-orm/pg-core';

export const accounts = pgTable('accounts', {
  id: text('id').primaryKey(),
  owner: text('owner').notNull(),
  balance: integer('balance').notNull(),
});

export const users = pgTable('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  email: text('email').notNull(),
});

export const posts = pgTable('posts', {
  id: text('id').primaryKey(),
  userId: uuid('user_id'),
  stars: integer('stars').notNull(),
});

export const usersRelations = relations(users, ({ many }) => ({ posts: many(posts) }));
export const postsRelations = relations(posts, ({ one }) => ({ user: one(users, { fields: [posts.userId], references: [users.id] }) }));
