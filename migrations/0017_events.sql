CREATE TABLE "events" (
	"id" text PRIMARY KEY NOT NULL,
	"partner_id" text NOT NULL,
	"type" text NOT NULL,
	"data" jsonb NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp (3) with time zone NOT NULL,
	"last_error" text,
	"delivered_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE INDEX "events_due" ON "events" USING btree ("next_attempt_at") WHERE "events"."status" in ('pending', 'sending');--> statement-breakpoint
CREATE INDEX "events_partner" ON "events" USING btree ("partner_id","created_at");--> statement-breakpoint
CREATE INDEX "events_dead" ON "events" USING btree ("partner_id") WHERE "events"."status" = 'dead';