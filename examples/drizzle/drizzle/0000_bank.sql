CREATE SCHEMA "bank_drizzle";
--> statement-breakpoint
CREATE TABLE "bank_drizzle"."accounts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"owner" text NOT NULL,
	"balance" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "bank_drizzle"."transfers" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"from_account" uuid NOT NULL,
	"to_account" uuid NOT NULL,
	"amount" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "transfers_from_account" ON "bank_drizzle"."transfers" USING btree ("from_account");