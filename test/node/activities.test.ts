/**
 * Activities (points for more than purchases) through the API: a partner's `activity_rules` pay
 * points per activity with per-member caps per UTC day and in total, a survey's score is kept
 * for NPS, issuance limits and funding apply as to earns, and statements count activity points as
 * earns. Every scenario ends with every ledger invariant checked.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { clientAtClock, createHarness, draftCurrentMonth, type Harness, type TestPartner } from "../support/harness.js";

let h: Harness;
let p: TestPartner;
let stranger: TestPartner;
let n = 0;

const RULES = [
  { activity: "review", points: 50, per_member_daily: 2, per_member_total: 3 },
  { activity: "survey", points: 20 },
  { activity: "app_signup", points: 300, per_member_total: 1 },
];

beforeAll(async () => {
  h = await createHarness();
  p = await h.partner({ activity_rules: RULES, limits: { member_daily_points: 500 } });
  stranger = await h.partner();
});
afterEach(async () => expect(await h.verify()).toEqual([]));
afterAll(() => h.close());

interface Answer {
  transaction: { type: string; partner_id: string; points: number; reference: string };
  balance: { available: number };
  code?: string;
  errors?: { path: string }[];
}
const rows = async <T>(q: ReturnType<typeof sql>) => ((await h.db.handle.db.execute(q)) as unknown as { rows: T[] }).rows;
const enrol = async () => (await p.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: `a-${++n}` })).member_id;

describe("activities", () => {
  it("pays the rule's points as an activity transaction; the rules are part of the partner document", async () => {
    const doc = await h.staff("admin").call<{ activity_rules: unknown }>("PATCH", `/v1/admin/partners/${p.id}`, { name: "Reviews welcome" });
    expect(doc.activity_rules).toEqual(RULES);
    const m = await enrol();
    const r = await p.client.request<Answer>("POST", "/v1/activities", { member: m, activity: "review", reference: "review-881" });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ transaction: { type: "activity", partner_id: p.id, points: 50, reference: "review-881" }, balance: { available: 50 } });
    const s = await p.client.request<Answer>("POST", "/v1/activities", { member: m, activity: "survey", reference: "nps-1", score: 9 });
    expect(s.status).toBe(201);
    const scores = await rows<{ activity: string; score: number | null }>(sql`select activity, score from activity_postings where member_id = ${m} order by created_at`);
    expect(scores).toEqual([{ activity: "review", score: null }, { activity: "survey", score: 9 }]);
  });

  it("caps per UTC day and in total, refusing with activity_limit_reached and writing nothing", async () => {
    let clock = Date.UTC(2026, 11, 4, 10);
    const at = clientAtClock(h, p, () => clock);
    const m = await enrol();
    const review = (ref: string) => at.request<Answer>("POST", "/v1/activities", { member: m, activity: "review", reference: ref });
    expect((await review("r1")).status).toBe(201);
    expect((await review("r2")).status).toBe(201);
    const before = await h.rowCounts();
    const third = await review("r3");
    expect([third.status, third.body.code]).toEqual([422, "activity_limit_reached"]);
    expect((await h.rowCounts()).postings).toBe(before.postings);
    clock = Date.UTC(2026, 11, 5, 0, 0, 1); // just after midnight UTC: a new day
    expect((await review("r3")).status).toBe(201);
    const fourth = await review("r4"); // 3 in total is the lifetime cap
    expect([fourth.status, fourth.body.code]).toEqual([422, "activity_limit_reached"]);
    expect((await at.request<Answer>("POST", "/v1/activities", { member: m, activity: "app_signup", reference: "app" })).status).toBe(201);
    const again = await at.request<Answer>("POST", "/v1/activities", { member: m, activity: "app_signup", reference: "app-2" });
    expect([again.status, again.body.code]).toEqual([422, "activity_limit_reached"]);
  });

  it("refuses an unknown activity, a score on anything but a survey, and the partner's issuance limits; a stranger cannot post for a member not linked to it", async () => {
    const m = await enrol();
    const unknown = await p.client.request<Answer>("POST", "/v1/activities", { member: m, activity: "tweet", reference: "t" });
    expect([unknown.status, unknown.body.code]).toEqual([422, "validation_failed"]);
    const scored = await p.client.request<Answer>("POST", "/v1/activities", { member: m, activity: "review", reference: "s", score: 7 });
    expect([scored.status, scored.body.code, scored.body.errors?.[0]?.path]).toEqual([422, "validation_failed", "score"]);
    for (const score of [-1, 11, 5.5]) {
      const bad = await p.client.request<Answer>("POST", "/v1/activities", { member: m, activity: "survey", reference: "s", score });
      expect([bad.status, bad.body.code]).toEqual([422, "validation_failed"]);
    }
    // 300 (sign-up) + 50 (review) + 20 (survey) = 370 of the member's 500 a day; a 200-point earn would pass 500.
    for (const [activity, ref] of [["app_signup", "a"], ["review", "b"], ["survey", "c"]] as const)
      expect((await p.client.request<Answer>("POST", "/v1/activities", { member: m, activity, reference: ref })).status).toBe(201);
    const earn = await p.client.request<Answer>("POST", "/v1/earn", { member: m, amount_minor: 1_400, currency: "EUR", reference: "buy" }); // 140 points
    expect([earn.status, earn.body.code]).toEqual([422, "issuance_limit_reached"]);
    const cross = await stranger.client.request<Answer>("POST", "/v1/activities", { member: m, activity: "review", reference: "x" });
    expect([cross.status, cross.body.code]).toEqual([404, "member_not_found"]);
    const noRules = await stranger.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "s-1" });
    const none = await stranger.client.request<Answer>("POST", "/v1/activities", { member: noRules.member_id, activity: "review", reference: "x" });
    expect([none.status, none.body.code]).toEqual([422, "validation_failed"]);
  });

  it("counts activity points as earns on the statement, billed at the locked issue price", async () => {
    const issuer = await h.partner({
      settlement: { currency: "EUR", billing: "issuance", issue_price_per_point: "0.015", redemption_price_per_point: "0.008", period: "monthly" },
      activity_rules: [{ activity: "review", points: 333 }],
    });
    const { member_id } = await issuer.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "bill-1" });
    await issuer.client.call("POST", "/v1/activities", { member: member_id, activity: "review", reference: "r" });
    await issuer.client.call("POST", "/v1/earn", { member: member_id, amount_minor: 10_000, currency: "EUR", reference: "e" }); // 1,000 points
    const run = await draftCurrentMonth<{ partner_id: string; earned_points: number; issuance_amount: string; entry_count: number }>(h);
    // (333 + 1,000) × 0.015 = 19.995 → 20.00 (half-even at the cent: 19.995 is exactly half, 9 is odd, so up).
    expect(run.statements.find((s) => s.partner_id === issuer.id)).toMatchObject({ earned_points: 1_333, issuance_amount: "20.00", entry_count: 2 });
  });
});
