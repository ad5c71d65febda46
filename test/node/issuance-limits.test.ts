/**
 * Issuance limits (a partner document's `limits`): the points a partner issues per UTC day, in
 * total and to one member, never pass their caps; over a cap an earn is refused with
 * issuance_limit_reached and nothing is posted. The race runs on Postgres over 40 connections.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { sql } from "drizzle-orm";
import { PartnerClient } from "../../src/client/index.js";
import { openDatabase } from "../../src/db/client.js";
import { createNodeApp } from "../../src/entry/node.js";
import { checkAnswersAgainstDocument } from "../support/contract-check.js";
import { BASE_URL, createHarness, type Harness } from "../support/harness.js";

const onServer = inject("dbMode") === "pg";
let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterEach(async () => expect(await h.verify()).toEqual([]));
afterAll(() => h.close());

const ONE_PER_EUR = [{ currency: "EUR", category: "*", points_per_unit: "1" }];
const issuedToday = async (partner: string) =>
  Number(
    ((await h.db.handle.db.execute(sql`select coalesce(sum(points), 0)::text as n from postings where partner_id = ${partner} and type = 'earn'`)) as unknown as { rows: { n: string }[] })
      .rows[0]!.n,
  );

describe("issuance limits", () => {
  it("refuses an earn over the member's or the partner's daily cap, posting nothing; the caps are in the partner document", async () => {
    const p = await h.partner({ earn_rules: ONE_PER_EUR, limits: { daily_points: 1_000, member_daily_points: 400 } });
    const doc = await h.staff("admin").call<{ limits: unknown }>("PATCH", `/v1/admin/partners/${p.id}`, { name: "Capped" });
    expect(doc.limits).toEqual({ daily_points: 1_000, member_daily_points: 400 });
    const member = async (ref: string) => (await p.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: ref })).member_id;
    const earn = (m: string, points: number) =>
      p.client.request<{ code?: string }>("POST", "/v1/earn", { member: m, amount_minor: points * 100, currency: "EUR", reference: `e${Math.random()}` });
    const a = await member("cap-a");
    expect((await earn(a, 300)).status).toBe(201);
    const before = await h.rowCounts();
    const overMember = await earn(a, 101);
    expect([overMember.status, overMember.body.code]).toEqual([422, "issuance_limit_reached"]);
    expect((await h.rowCounts()).postings).toBe(before.postings);
    expect((await earn(a, 100)).status).toBe(201); // exactly the member's cap
    const b = await member("cap-b");
    const c = await member("cap-c");
    expect((await earn(b, 400)).status).toBe(201);
    const overPartner = await earn(c, 201); // 800 issued today; 1,000 is the partner's cap
    expect([overPartner.status, overPartner.body.code]).toEqual([422, "issuance_limit_reached"]);
    expect((await earn(c, 200)).status).toBe(201);
    expect(await issuedToday(p.id)).toBe(1_000);
    // Removing the limits lifts them.
    await h.staff("admin").call("PATCH", `/v1/admin/partners/${p.id}`, { limits: null });
    expect((await earn(c, 500)).status).toBe(201);
  });

  it.skipIf(!onServer)("a daily cap under 500 concurrent earns over 40 connections is never exceeded", async () => {
    const cap = 10_000;
    const p = await h.partner({ earn_rules: ONE_PER_EUR, limits: { daily_points: cap } });
    const wide = await openDatabase({ kind: "pg", url: h.db.url!, max: 40 });
    try {
      const app = checkAnswersAgainstDocument(createNodeApp(h.config, wide));
      const client = new PartnerClient({ baseUrl: BASE_URL, issuer: p.id, privateJwk: p.privateJwk, fetch: async (i, init) => app.request(i, init) });
      const members: string[] = [];
      for (let i = 0; i < 20; i++) members.push((await client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: `race-${i}` })).member_id);
      // 500 earns of 50 points: 25,000 asked for, 10,000 allowed, so exactly 200 can pass.
      const answers = await Promise.all(
        Array.from({ length: 500 }, (_, i) =>
          client.request<{ code?: string }>("POST", "/v1/earn", { member: members[i % 20], amount_minor: 5_000, currency: "EUR", reference: `race-${i}` }),
        ),
      );
      const byOutcome = new Map<string, number>();
      for (const a of answers) byOutcome.set(`${a.status} ${a.body.code ?? ""}`.trim(), (byOutcome.get(`${a.status} ${a.body.code ?? ""}`.trim()) ?? 0) + 1);
      expect(Object.fromEntries(byOutcome)).toEqual({ "201": 200, "422 issuance_limit_reached": 300 });
      expect(await issuedToday(p.id)).toBe(cap);
    } finally {
      await wide.close();
    }
  });
});
