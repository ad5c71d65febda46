CREATE TABLE "issuance_days" (
	"partner_id" text NOT NULL,
	"day" text NOT NULL,
	"member_id" text NOT NULL,
	"points" bigint NOT NULL,
	CONSTRAINT "issuance_days_partner_id_day_member_id_pk" PRIMARY KEY("partner_id","day","member_id")
);
--> statement-breakpoint
ALTER TABLE "partners" ADD COLUMN "daily_points_limit" bigint;--> statement-breakpoint
ALTER TABLE "partners" ADD COLUMN "member_daily_points_limit" bigint;