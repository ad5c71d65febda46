CREATE TABLE "entries" (
	"posting_id" text NOT NULL,
	"account" text NOT NULL,
	"amount" bigint NOT NULL,
	CONSTRAINT "entries_posting_id_account_pk" PRIMARY KEY("posting_id","account"),
	CONSTRAINT "entries_nonzero" CHECK ("entries"."amount" <> 0)
);
--> statement-breakpoint
CREATE TABLE "holds" (
	"id" text PRIMARY KEY NOT NULL,
	"member_id" text NOT NULL,
	"partner_id" text NOT NULL,
	"points" bigint NOT NULL,
	"reference" text NOT NULL,
	"status" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL,
	"posting_id" text NOT NULL,
	"captured_points" bigint,
	"capture_transaction_id" text,
	"closed_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE TABLE "lot_moves" (
	"posting_id" text NOT NULL,
	"lot_id" text NOT NULL,
	"points" bigint NOT NULL,
	CONSTRAINT "lot_moves_posting_id_lot_id_pk" PRIMARY KEY("posting_id","lot_id")
);
--> statement-breakpoint
CREATE TABLE "lots" (
	"id" text PRIMARY KEY NOT NULL,
	"member_id" text NOT NULL,
	"partner_id" text NOT NULL,
	"points" bigint NOT NULL,
	"remaining" bigint NOT NULL,
	"earned_at" timestamp (3) with time zone NOT NULL,
	"available_at" timestamp (3) with time zone NOT NULL,
	"released" boolean NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "lots_remaining_range" CHECK ("lots"."remaining" >= 0 and "lots"."remaining" <= "lots"."points")
);
--> statement-breakpoint
CREATE TABLE "postings" (
	"id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"partner_id" text,
	"member_id" text NOT NULL,
	"points" bigint NOT NULL,
	"base_points" bigint DEFAULT 0 NOT NULL,
	"bonus_points" bigint DEFAULT 0 NOT NULL,
	"operator_funded_points" bigint DEFAULT 0 NOT NULL,
	"reference" text,
	"created_at" timestamp (3) with time zone NOT NULL,
	"occurred_at" timestamp (3) with time zone,
	"available_at" timestamp (3) with time zone,
	"original_id" text,
	"hold_id" text,
	"currency" text,
	"amount_minor" bigint,
	"category" text,
	"settlement_currency" text,
	"billing" text,
	"issue_price_per_point" numeric(20, 6),
	"redemption_price_per_point" numeric(20, 6),
	CONSTRAINT "postings_points_positive" CHECK ("postings"."points" > 0),
	CONSTRAINT "postings_type" CHECK ("postings"."type" in ('earn','burn','earn_reversal','burn_refund','expiry','adjustment','release','hold','capture','hold_release'))
);
--> statement-breakpoint
CREATE INDEX "entries_account" ON "entries" USING btree ("account");--> statement-breakpoint
CREATE INDEX "holds_expiring" ON "holds" USING btree ("expires_at") WHERE "holds"."status" = 'authorized';--> statement-breakpoint
CREATE INDEX "holds_member" ON "holds" USING btree ("member_id");--> statement-breakpoint
CREATE INDEX "lot_moves_lot" ON "lot_moves" USING btree ("lot_id");--> statement-breakpoint
CREATE INDEX "lots_member_open" ON "lots" USING btree ("member_id","expires_at") WHERE "lots"."remaining" > 0;--> statement-breakpoint
CREATE INDEX "lots_pending_due" ON "lots" USING btree ("available_at") WHERE not "lots"."released";--> statement-breakpoint
CREATE INDEX "lots_expiry_due" ON "lots" USING btree ("expires_at") WHERE "lots"."released" and "lots"."remaining" > 0;--> statement-breakpoint
CREATE INDEX "postings_member_created" ON "postings" USING btree ("member_id","created_at");--> statement-breakpoint
CREATE INDEX "postings_partner_created" ON "postings" USING btree ("partner_id","created_at");--> statement-breakpoint
CREATE INDEX "postings_created" ON "postings" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "postings_original" ON "postings" USING btree ("original_id");