/**
 * Every table written per request, per session or per event is pruned by the retention job once
 * its rows are past their time, and not before; ledger rows are never touched.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { pruneExpiredRecords, RETENTION } from "../../src/auth/prune.js";
import { createHarness, type Harness } from "../support/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const DAY = 86_400_000;
const count = async (table: string, where = sql``) =>
  ((await h.db.handle.db.execute(sql`select count(*)::int as n from ${sql.identifier(table)} ${where}`)) as unknown as { rows: { n: number }[] }).rows[0]!.n;

describe("retention", () => {
  it("prunes tokens, codes, sessions, idempotency records and delivered events after their time, and no ledger row", async () => {
    const p = await h.partner();
    const m = await p.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "retained" });
    await p.client.call("POST", `/v1/members/${m.member_id}/link-codes`, {});
    await p.client.call("POST", `/v1/members/${m.member_id}/receive-codes`, {});
    await p.client.call("POST", `/v1/members/${m.member_id}/portal-sessions`, {});
    await p.client.call("POST", "/v1/earn", { member: m.member_id, amount_minor: 1_000, currency: "EUR", reference: "kept" });
    await h.staff("finance").call("POST", "/v1/staff/sign-in-links", {});
    await h.db.handle.db.execute(sql`update events set status = 'delivered', delivered_at = now() where partner_id = ${p.id}`);

    const tables = [...new Set(RETENTION.map((r) => r.table))];
    const before = Object.fromEntries(await Promise.all(tables.map(async (t) => [t, await count(t)] as const)));
    for (const t of tables.filter((t) => t !== "rate_windows")) expect(before[t], `${t} has rows to prune`).toBeGreaterThan(0);
    const ledger = { postings: await count("postings"), entries: await count("entries"), lots: await count("lots") };
    const services = { config: h.config, db: () => h.db.handle.db, now: () => new Date() };

    // A day later: only what lives for minutes is gone.
    await pruneExpiredRecords.run(services, new Date(Date.now() + DAY));
    expect(await count("used_tokens")).toBe(0);
    for (const t of ["link_codes", "receive_codes", "portal_tokens", "staff_sessions", "idempotency_keys", "events"]) expect(await count(t), `${t} kept for now`).toBe(before[t]);

    // Past every retention: nothing left of them, the books untouched.
    await pruneExpiredRecords.run(services, new Date(Date.now() + 91 * DAY));
    for (const t of tables) expect(await count(t), `${t} pruned`).toBe(0);
    expect({ postings: await count("postings"), entries: await count("entries"), lots: await count("lots") }).toEqual(ledger);
    expect(await h.verify()).toEqual([]);
  });

  it("keeps a dead letter longer than a delivered event, and never a pending one", async () => {
    const p = await h.partner();
    await p.client.call("POST", "/v1/members", { external_ref: "dead-letter" });
    await p.client.call("POST", "/v1/members", { external_ref: "pending-event" });
    const ids = ((await h.db.handle.db.execute(sql`select id from events where partner_id = ${p.id} order by id`)) as unknown as { rows: { id: string }[] }).rows;
    await h.db.handle.db.execute(sql`update events set status = 'dead' where id = ${ids[0]!.id}`);
    const services = { config: h.config, db: () => h.db.handle.db, now: () => new Date() };
    await pruneExpiredRecords.run(services, new Date(Date.now() + 60 * DAY));
    expect(await count("events", sql`where partner_id = ${p.id}`)).toBe(2);
    await pruneExpiredRecords.run(services, new Date(Date.now() + 400 * DAY));
    expect(await count("events", sql`where partner_id = ${p.id} and status = 'pending'`), "undelivered events are never pruned").toBe(1);
    expect(await count("events", sql`where partner_id = ${p.id}`)).toBe(1);
  });
});
