CREATE TABLE "prepaid_purchases" (
	"id" text PRIMARY KEY NOT NULL,
	"partner_id" text NOT NULL,
	"points" bigint NOT NULL,
	"reference" text NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "prepaid_purchases_positive" CHECK ("prepaid_purchases"."points" > 0)
);
--> statement-breakpoint
CREATE INDEX "prepaid_purchases_partner" ON "prepaid_purchases" USING btree ("partner_id","created_at");