CREATE TABLE "partner_earn_rules" (
	"partner_id" text NOT NULL,
	"currency" text NOT NULL,
	"category" text NOT NULL,
	"points_per_unit" numeric(20, 6) NOT NULL,
	CONSTRAINT "partner_earn_rules_partner_id_currency_category_pk" PRIMARY KEY("partner_id","currency","category"),
	CONSTRAINT "earn_rules_rate_nonnegative" CHECK ("partner_earn_rules"."points_per_unit" >= 0)
);
--> statement-breakpoint
CREATE TABLE "partner_keys" (
	"partner_id" text NOT NULL,
	"kid" text NOT NULL,
	"alg" text NOT NULL,
	"jwk" jsonb NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp (6) with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp (6) with time zone,
	CONSTRAINT "partner_keys_partner_id_kid_pk" PRIMARY KEY("partner_id","kid")
);
--> statement-breakpoint
CREATE TABLE "partners" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"category" text NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"settlement_currency" text NOT NULL,
	"billing" text NOT NULL,
	"issue_price_per_point" numeric(20, 6) NOT NULL,
	"redemption_price_per_point" numeric(20, 6) NOT NULL,
	"settlement_period" text NOT NULL,
	"prepaid_points" bigint,
	"credit_limit" numeric(20, 6),
	"allow_explicit_points" boolean DEFAULT false NOT NULL,
	"rate_limit_per_minute" integer,
	"webhook_url" text,
	"document" jsonb NOT NULL,
	"created_at" timestamp (6) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (6) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "partners_id_slug" CHECK ("partners"."id" ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
	CONSTRAINT "partners_currency_iso" CHECK ("partners"."settlement_currency" ~ '^[A-Z]{3}$'),
	CONSTRAINT "partners_prices_nonnegative" CHECK ("partners"."issue_price_per_point" >= 0 and "partners"."redemption_price_per_point" >= 0),
	CONSTRAINT "partners_prepaid_nonnegative" CHECK ("partners"."prepaid_points" is null or "partners"."prepaid_points" >= 0)
);
--> statement-breakpoint
ALTER TABLE "partner_earn_rules" ADD CONSTRAINT "partner_earn_rules_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "partner_keys" ADD CONSTRAINT "partner_keys_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "partner_keys_kid" ON "partner_keys" USING btree ("kid");