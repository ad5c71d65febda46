CREATE TABLE "posting_promotions" (
	"posting_id" text NOT NULL,
	"promotion_id" text NOT NULL,
	"points" bigint NOT NULL,
	"operator_points" bigint NOT NULL,
	CONSTRAINT "posting_promotions_posting_id_promotion_id_pk" PRIMARY KEY("posting_id","promotion_id")
);
--> statement-breakpoint
CREATE TABLE "promotions" (
	"id" text PRIMARY KEY NOT NULL,
	"partner_id" text NOT NULL,
	"name" text NOT NULL,
	"category" text NOT NULL,
	"multiplier" numeric(10, 4),
	"fixed_points" bigint,
	"starts_at" timestamp (3) with time zone NOT NULL,
	"ends_at" timestamp (3) with time zone NOT NULL,
	"budget_points" bigint NOT NULL,
	"remaining_points" bigint NOT NULL,
	"operator_share" numeric(5, 4) NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "promotions_budget" CHECK ("promotions"."remaining_points" >= 0 and "promotions"."remaining_points" <= "promotions"."budget_points"),
	CONSTRAINT "promotions_kind" CHECK (("promotions"."multiplier" is null) <> ("promotions"."fixed_points" is null)),
	CONSTRAINT "promotions_window" CHECK ("promotions"."ends_at" > "promotions"."starts_at"),
	CONSTRAINT "promotions_share" CHECK ("promotions"."operator_share" between 0 and 1)
);
--> statement-breakpoint
CREATE INDEX "posting_promotions_promotion" ON "posting_promotions" USING btree ("promotion_id");--> statement-breakpoint
CREATE INDEX "promotions_partner_window" ON "promotions" USING btree ("partner_id","starts_at","ends_at");