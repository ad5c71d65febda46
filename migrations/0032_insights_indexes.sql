CREATE INDEX "member_links_partner_created" ON "member_links" USING btree ("partner_id","created_at");--> statement-breakpoint
CREATE INDEX "members_created" ON "members" USING btree ("created_at");