CREATE SEQUENCE "public"."statement_numbers" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "settlement_runs" (
	"id" text PRIMARY KEY NOT NULL,
	"period_start" date NOT NULL,
	"period_end" date NOT NULL,
	"status" text NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"cutoff_at" timestamp (3) with time zone NOT NULL,
	"finalized_at" timestamp (3) with time zone,
	"finalized_by" text,
	CONSTRAINT "settlement_runs_period_order" CHECK ("settlement_runs"."period_end" > "settlement_runs"."period_start")
);
--> statement-breakpoint
CREATE TABLE "statements" (
	"id" text PRIMARY KEY NOT NULL,
	"run_id" text NOT NULL,
	"partner_id" text NOT NULL,
	"period_start" date NOT NULL,
	"period_end" date NOT NULL,
	"currency" text NOT NULL,
	"billing" text NOT NULL,
	"earned_points" bigint NOT NULL,
	"earn_reversed_points" bigint NOT NULL,
	"burned_points" bigint NOT NULL,
	"burn_refunded_points" bigint NOT NULL,
	"expired_points" bigint NOT NULL,
	"operator_funded_points" bigint NOT NULL,
	"issuance_amount" numeric(24, 4) NOT NULL,
	"redemption_amount" numeric(24, 4) NOT NULL,
	"net_amount" numeric(24, 4) NOT NULL,
	"entry_count" integer NOT NULL,
	"number" text,
	"status" text NOT NULL,
	"signature" text,
	"created_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "settlement_runs_period" ON "settlement_runs" USING btree ("period_start","period_end");--> statement-breakpoint
CREATE UNIQUE INDEX "statements_run_partner" ON "statements" USING btree ("run_id","partner_id");--> statement-breakpoint
CREATE INDEX "statements_partner_final" ON "statements" USING btree ("partner_id","period_start") WHERE "statements"."status" = 'final';--> statement-breakpoint
CREATE UNIQUE INDEX "statements_number" ON "statements" USING btree ("number");