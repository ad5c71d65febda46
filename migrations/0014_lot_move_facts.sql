ALTER TABLE "lot_moves" ADD COLUMN "created_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "lot_moves" ADD COLUMN "posting_type" text;--> statement-breakpoint
ALTER TABLE "lot_moves" ADD COLUMN "issuer_id" text;--> statement-breakpoint
ALTER TABLE "lot_moves" ADD COLUMN "issuer_billing" text;--> statement-breakpoint
ALTER TABLE "lot_moves" ADD COLUMN "issue_value" numeric(30, 12);--> statement-breakpoint
CREATE INDEX "lot_moves_created" ON "lot_moves" USING btree ("created_at");