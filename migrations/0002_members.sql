CREATE TABLE "link_codes" (
	"code_hash" text PRIMARY KEY NOT NULL,
	"member_id" text NOT NULL,
	"created_by" text,
	"expires_at" timestamp (6) with time zone NOT NULL,
	"used_at" timestamp (6) with time zone,
	"used_by" text,
	"created_at" timestamp (6) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "member_links" (
	"id" text PRIMARY KEY NOT NULL,
	"member_id" text NOT NULL,
	"partner_id" text NOT NULL,
	"external_ref" text,
	"via" text NOT NULL,
	"created_at" timestamp (6) with time zone DEFAULT now() NOT NULL,
	"unlinked_at" timestamp (6) with time zone,
	CONSTRAINT "member_links_ref_length" CHECK ("member_links"."external_ref" is null or length("member_links"."external_ref") between 1 and 128)
);
--> statement-breakpoint
CREATE TABLE "members" (
	"id" text PRIMARY KEY NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"available" bigint DEFAULT 0 NOT NULL,
	"pending" bigint DEFAULT 0 NOT NULL,
	"held" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp (6) with time zone DEFAULT now() NOT NULL,
	"last_activity_at" timestamp (6) with time zone DEFAULT now() NOT NULL,
	"erased_at" timestamp (6) with time zone,
	CONSTRAINT "members_buckets_nonnegative" CHECK ("members"."pending" >= 0 and "members"."held" >= 0),
	CONSTRAINT "members_id_prefix" CHECK ("members"."id" like 'mbr\_%')
);
--> statement-breakpoint
CREATE TABLE "portal_tokens" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"member_id" text NOT NULL,
	"partner_id" text,
	"expires_at" timestamp (6) with time zone NOT NULL,
	"used_at" timestamp (6) with time zone,
	"created_at" timestamp (6) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "link_codes" ADD CONSTRAINT "link_codes_member_id_members_id_fk" FOREIGN KEY ("member_id") REFERENCES "public"."members"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "member_links" ADD CONSTRAINT "member_links_member_id_members_id_fk" FOREIGN KEY ("member_id") REFERENCES "public"."members"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "member_links" ADD CONSTRAINT "member_links_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "portal_tokens" ADD CONSTRAINT "portal_tokens_member_id_members_id_fk" FOREIGN KEY ("member_id") REFERENCES "public"."members"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "link_codes_member" ON "link_codes" USING btree ("member_id");--> statement-breakpoint
CREATE UNIQUE INDEX "member_links_one_per_partner" ON "member_links" USING btree ("member_id","partner_id") WHERE "member_links"."unlinked_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "member_links_ref_unique" ON "member_links" USING btree ("partner_id","external_ref") WHERE "member_links"."unlinked_at" is null;--> statement-breakpoint
CREATE INDEX "member_links_member" ON "member_links" USING btree ("member_id");--> statement-breakpoint
CREATE INDEX "portal_tokens_member" ON "portal_tokens" USING btree ("member_id");--> statement-breakpoint
CREATE INDEX "portal_tokens_expires" ON "portal_tokens" USING btree ("expires_at");