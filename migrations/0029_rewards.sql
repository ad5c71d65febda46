CREATE TABLE "redemptions" (
	"id" text PRIMARY KEY NOT NULL,
	"reward_id" text NOT NULL,
	"supplier_id" text NOT NULL,
	"partner_id" text NOT NULL,
	"member_id" text NOT NULL,
	"kind" text NOT NULL,
	"quantity" integer NOT NULL,
	"points" bigint NOT NULL,
	"status" text NOT NULL,
	"reference" text NOT NULL,
	"transfer_account" text,
	"fulfilment_reference" text,
	"reject_reason" text,
	"supplier_price" numeric(20, 6) NOT NULL,
	"supplier_currency" text NOT NULL,
	"posting_id" text NOT NULL,
	"refund_posting_id" text,
	"created_at" timestamp (3) with time zone NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "redemptions_status" CHECK ("redemptions"."status" in ('issued','requested','fulfilled','rejected','cancelled')),
	CONSTRAINT "redemptions_quantity" CHECK ("redemptions"."quantity" between 1 and 10)
);
--> statement-breakpoint
CREATE TABLE "reward_fulfilments" (
	"id" text PRIMARY KEY NOT NULL,
	"redemption_id" text NOT NULL,
	"supplier_id" text NOT NULL,
	"voucher_code" text,
	"units" integer NOT NULL,
	"supplier_price" numeric(20, 6) NOT NULL,
	"currency" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "reward_fulfilments_units" CHECK ("reward_fulfilments"."units" > 0)
);
--> statement-breakpoint
CREATE TABLE "rewards" (
	"id" text PRIMARY KEY NOT NULL,
	"supplier_id" text NOT NULL,
	"kind" text NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"points" bigint NOT NULL,
	"face_value_minor" bigint,
	"face_value_currency" text,
	"transfer_program" text,
	"transfer_units_per_unit" bigint,
	"supplier_price" numeric(20, 6) NOT NULL,
	"stock" integer,
	"per_member_limit" integer,
	"voucher_valid_days" integer DEFAULT 90 NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "rewards_kind" CHECK ("rewards"."kind" in ('voucher','item','transfer')),
	CONSTRAINT "rewards_status" CHECK ("rewards"."status" in ('active','paused','retired')),
	CONSTRAINT "rewards_stock" CHECK ("rewards"."stock" is null or "rewards"."stock" >= 0),
	CONSTRAINT "rewards_points" CHECK ("rewards"."points" > 0)
);
--> statement-breakpoint
CREATE TABLE "vouchers" (
	"code" text PRIMARY KEY NOT NULL,
	"redemption_id" text NOT NULL,
	"supplier_id" text NOT NULL,
	"status" text DEFAULT 'issued' NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL,
	"used_at" timestamp (3) with time zone,
	"use_reference" text,
	CONSTRAINT "vouchers_status" CHECK ("vouchers"."status" in ('issued','used','cancelled','expired'))
);
--> statement-breakpoint
ALTER TABLE "postings" DROP CONSTRAINT "postings_type";--> statement-breakpoint
ALTER TABLE "statements" ADD COLUMN "rewards_amount" numeric(24, 4) DEFAULT '0' NOT NULL;--> statement-breakpoint
CREATE INDEX "redemptions_member_reward" ON "redemptions" USING btree ("member_id","reward_id");--> statement-breakpoint
CREATE INDEX "redemptions_partner_created" ON "redemptions" USING btree ("partner_id","created_at");--> statement-breakpoint
CREATE INDEX "redemptions_supplier_created" ON "redemptions" USING btree ("supplier_id","created_at");--> statement-breakpoint
CREATE INDEX "reward_fulfilments_created" ON "reward_fulfilments" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "reward_fulfilments_once" ON "reward_fulfilments" USING btree ("redemption_id","voucher_code");--> statement-breakpoint
CREATE INDEX "rewards_active" ON "rewards" USING btree ("kind","id") WHERE status = 'active';--> statement-breakpoint
CREATE INDEX "vouchers_redemption" ON "vouchers" USING btree ("redemption_id");--> statement-breakpoint
CREATE INDEX "vouchers_due" ON "vouchers" USING btree ("expires_at") WHERE status = 'issued';--> statement-breakpoint
ALTER TABLE "postings" ADD CONSTRAINT "postings_type" CHECK ("postings"."type" in ('earn','burn','earn_reversal','burn_refund','expiry','adjustment','release','hold','capture','hold_release','redemption','redemption_refund'));--> statement-breakpoint
CREATE TRIGGER reward_fulfilments_append_only BEFORE UPDATE OR DELETE ON reward_fulfilments FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
