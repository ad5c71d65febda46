CREATE TABLE "activity_postings" (
	"posting_id" text PRIMARY KEY NOT NULL,
	"partner_id" text NOT NULL,
	"member_id" text NOT NULL,
	"activity" text NOT NULL,
	"score" smallint,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "activity_postings_score" CHECK ("activity_postings"."score" is null or "activity_postings"."score" between 0 and 10)
);
--> statement-breakpoint
CREATE TABLE "partner_activity_rules" (
	"partner_id" text NOT NULL,
	"activity" text NOT NULL,
	"points" bigint NOT NULL,
	"per_member_daily" integer,
	"per_member_total" integer,
	CONSTRAINT "partner_activity_rules_partner_id_activity_pk" PRIMARY KEY("partner_id","activity"),
	CONSTRAINT "activity_rules_points" CHECK ("partner_activity_rules"."points" > 0)
);
--> statement-breakpoint
CREATE TABLE "receive_codes" (
	"code_hash" text PRIMARY KEY NOT NULL,
	"member_id" text NOT NULL,
	"created_by" text,
	"expires_at" timestamp (3) with time zone NOT NULL,
	"used_at" timestamp (3) with time zone,
	"transfer_id" text,
	"created_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "referral_codes" (
	"member_id" text PRIMARY KEY NOT NULL,
	"code" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "referrals" (
	"referred_id" text PRIMARY KEY NOT NULL,
	"referrer_id" text NOT NULL,
	"partner_id" text NOT NULL,
	"bonus_points" bigint NOT NULL,
	"referrer_cap" integer NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"qualified_at" timestamp (3) with time zone,
	"qualifying_posting_id" text,
	"bonus_expires_at" timestamp (3) with time zone,
	"referred_posting_id" text,
	"referrer_outcome" text,
	"referrer_posting_id" text,
	"referrer_decided_at" timestamp (3) with time zone,
	CONSTRAINT "referrals_not_self" CHECK ("referrals"."referred_id" <> "referrals"."referrer_id"),
	CONSTRAINT "referrals_outcome" CHECK ("referrals"."referrer_outcome" is null or "referrals"."referrer_outcome" in ('paid','capped','forfeited'))
);
--> statement-breakpoint
CREATE TABLE "transfers" (
	"id" text PRIMARY KEY NOT NULL,
	"partner_id" text NOT NULL,
	"sender_id" text NOT NULL,
	"recipient_id" text NOT NULL,
	"points" bigint NOT NULL,
	"reference" text NOT NULL,
	"out_posting_id" text NOT NULL,
	"in_posting_id" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "transfers_points" CHECK ("transfers"."points" > 0),
	CONSTRAINT "transfers_two_members" CHECK ("transfers"."sender_id" <> "transfers"."recipient_id")
);
--> statement-breakpoint
ALTER TABLE "postings" DROP CONSTRAINT "postings_type";--> statement-breakpoint
ALTER TABLE "lots" ALTER COLUMN "partner_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "lots" ADD COLUMN "origin_id" text;--> statement-breakpoint
-- Every lot so far was made by the posting that credited it.
UPDATE "lots" SET "origin_id" = "id";--> statement-breakpoint
ALTER TABLE "lots" ALTER COLUMN "origin_id" SET NOT NULL;--> statement-breakpoint
CREATE INDEX "activity_postings_member" ON "activity_postings" USING btree ("member_id","partner_id","activity","created_at");--> statement-breakpoint
CREATE INDEX "activity_postings_partner_created" ON "activity_postings" USING btree ("partner_id","created_at");--> statement-breakpoint
CREATE INDEX "receive_codes_member" ON "receive_codes" USING btree ("member_id");--> statement-breakpoint
CREATE INDEX "receive_codes_expires" ON "receive_codes" USING btree ("expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "referral_codes_code" ON "referral_codes" USING btree ("code");--> statement-breakpoint
CREATE INDEX "referrals_referrer_paid" ON "referrals" USING btree ("referrer_id","referrer_decided_at") WHERE "referrals"."referrer_outcome" = 'paid';--> statement-breakpoint
CREATE INDEX "referrals_referrer_due" ON "referrals" USING btree ("referrer_id") WHERE "referrals"."qualified_at" is not null and "referrals"."referrer_outcome" is null;--> statement-breakpoint
CREATE INDEX "transfers_sender_created" ON "transfers" USING btree ("sender_id","created_at");--> statement-breakpoint
CREATE INDEX "transfers_recipient" ON "transfers" USING btree ("recipient_id");--> statement-breakpoint
CREATE INDEX "postings_member_no_partner" ON "postings" USING btree ("member_id","created_at","id") WHERE partner_id is null;--> statement-breakpoint
CREATE INDEX "postings_no_partner_created" ON "postings" USING btree ("created_at","id") WHERE partner_id is null;--> statement-breakpoint
ALTER TABLE "postings" ADD CONSTRAINT "postings_type" CHECK ("postings"."type" in ('earn','burn','earn_reversal','burn_refund','expiry','adjustment','release','hold','capture','hold_release','redemption','redemption_refund','activity','transfer_out','transfer_in','referral_bonus'));--> statement-breakpoint
-- Transfers and activity records are ledger facts: append-only like postings.
CREATE TRIGGER transfers_append_only BEFORE UPDATE OR DELETE ON transfers FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
--> statement-breakpoint
CREATE TRIGGER activity_postings_append_only BEFORE UPDATE OR DELETE ON activity_postings FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
