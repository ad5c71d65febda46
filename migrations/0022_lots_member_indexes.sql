DROP INDEX "lots_member_open";--> statement-breakpoint
CREATE INDEX "lots_member_open_order" ON "lots" USING btree ("member_id","expires_at","id") WHERE "lots"."remaining" > 0;--> statement-breakpoint
CREATE INDEX "lots_member" ON "lots" USING btree ("member_id");