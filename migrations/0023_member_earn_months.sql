CREATE TABLE "member_earn_months" (
	"member_id" text NOT NULL,
	"month" date NOT NULL,
	"points" bigint NOT NULL,
	CONSTRAINT "member_earn_months_member_id_month_pk" PRIMARY KEY("member_id","month")
);
