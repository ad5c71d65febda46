/**
 * Insights (`GET /v1/insights`) and the finance engagement report, checked against values computed
 * by hand from a small November: two partners, four members, activity in October and December
 * that must not count, a cross-partner member, surveys for NPS, a reward one partner supplies and
 * the other redeems.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientAtClock, createHarness, type Harness, type TestPartner } from "../support/harness.js";

let h: Harness;
let P: TestPartner; // a hotel
let Q: TestPartner; // a shop
let clock = 0;

const ONE_PER_EUR = [{ currency: "EUR", category: "*", points_per_unit: "1" }];
const SURVEY = [{ activity: "survey", points: 20 }];
const at = (iso: string) => (clock = Date.parse(iso));

beforeAll(async () => {
  h = await createHarness();
  P = await h.partner({ earn_rules: ONE_PER_EUR, activity_rules: SURVEY });
  Q = await h.partner({ category: "retail", earn_rules: ONE_PER_EUR, activity_rules: SURVEY });
  const p = clientAtClock(h, P, () => clock);
  const q = clientAtClock(h, Q, () => clock);
  const enrol = async (c: typeof p, ref: string) => (await c.call<{ member_id: string }>("POST", "/v1/members", { external_ref: ref })).member_id;
  const earn = (c: typeof p, member: string, euros: number) => c.call("POST", "/v1/earn", { member, amount_minor: euros * 100, currency: "EUR", reference: `e-${clock}-${euros}` });
  const survey = (c: typeof p, member: string, score: number) => c.call("POST", "/v1/activities", { member, activity: "survey", reference: `s-${clock}`, score });

  // October: m1 joins P and earns; m4 joins Q and earns enough for a reward. Nothing of this counts in November.
  at("2026-10-20T10:00:00Z");
  const m1 = await enrol(p, "m1");
  await earn(p, m1, 500);
  const m4 = await enrol(q, "m4");
  await earn(q, m4, 500);

  // November.
  at("2026-11-02T09:00:00Z");
  await earn(p, m1, 100);
  await earn(p, m1, 50); // m1: two earns at P, a repeat member
  const m2 = await enrol(p, "m2"); // new at P
  await earn(p, m2, 30);
  const m3 = await enrol(p, "m3"); // new at P
  await earn(p, m3, 40);
  const { code } = await p.call<{ code: string }>("POST", `/v1/members/${m3}/link-codes`, {});
  await q.call("POST", "/v1/links", { code, external_ref: "m3-at-q" }); // m3 is new at Q too
  await q.call("POST", "/v1/burn", { member: "ext:m3-at-q", points: 25, reference: "b-m3" }); // active at both: cross-partner
  await survey(p, m1, 9);
  await survey(p, m2, 10);
  await survey(p, m3, 4);
  await earn(q, m4, 80);
  await survey(q, m4, 3);
  const reward = await h.staff("admin").call<{ reward_id: string }>("POST", "/v1/admin/rewards", { supplier_id: P.id, kind: "item", name: "Spa day", points: 200, supplier_price: "10" });
  await q.call("POST", "/v1/redemptions", { member: m4, reward_id: reward.reward_id, reference: "spa" }); // 200 points redeemed for P's reward

  // December: must not count either.
  at("2026-12-01T00:00:00Z");
  await earn(p, m2, 999);
});
afterAll(() => h.close());

const NOV = "from=2026-11-01&to=2026-12-01";

describe("insights", () => {
  it("match the values computed by hand, for each partner", async () => {
    // P: active m1, m2, m3 (3); new m2, m3 (2; m1 joined in October); repeat m1 (1 of 3 = 0.3333);
    // cross-partner m3 (1); issued 100 + 50 + 30 + 40 earned and 3 × 20 for surveys = 280; redeemed:
    // nothing burned at P, 200 for the reward it supplies; NPS 9, 10, 4: 2 promoters, 1 detractor,
    // 100 × (2 − 1) ÷ 3 = 33.33 → 33.
    expect(await P.client.call("GET", `/v1/insights?${NOV}`)).toEqual({
      period_start: "2026-11-01",
      period_end: "2026-12-01",
      active_members: 3,
      new_members: 2,
      repeat_members: 1,
      repeat_rate: "0.3333",
      cross_partner_members: 1,
      points_issued: 280,
      points_redeemed: 200,
      nps: { responses: 3, promoters: 2, passives: 0, detractors: 1, score: 33 },
    });
    // Q: active m3 (a burn) and m4 (an earn, a survey, a redemption it made) (2); new m3 (1; m4 joined in
    // October); no repeat (m4 earned once in November); cross-partner m3 (1); issued 80 + 20 = 100;
    // redeemed 25 burned at Q (the reward was P's); NPS one detractor: −100.
    expect(await Q.client.call("GET", `/v1/insights?${NOV}`)).toEqual({
      period_start: "2026-11-01",
      period_end: "2026-12-01",
      active_members: 2,
      new_members: 1,
      repeat_members: 0,
      repeat_rate: "0.0000",
      cross_partner_members: 1,
      points_issued: 100,
      points_redeemed: 25,
      nps: { responses: 1, promoters: 0, passives: 0, detractors: 1, score: -100 },
    });
    // A period with nothing in it: zeros, a "0.0000" rate and no score.
    expect(await P.client.call("GET", "/v1/insights?from=2025-01-01&to=2025-02-01")).toMatchObject({
      active_members: 0,
      repeat_rate: "0.0000",
      nps: { responses: 0, score: null },
    });
  });

  it("the finance report has every partner and the coalition, computed the same way", async () => {
    const report = await h.staff("finance").call<{ coalition: Record<string, unknown>; partners: { partner_id: string }[] }>("GET", `/v1/reports/engagement?${NOV}`);
    // The coalition: active m1–m4 (4); new members m2, m3 (2); repeat m1 (1 of 4 = 0.2500); active at two
    // partners or more m3 (1); issued 280 + 100 = 380; redeemed 25 + 200 = 225; NPS 9, 10, 4, 3: 0.
    expect(report.coalition).toEqual({
      period_start: "2026-11-01",
      period_end: "2026-12-01",
      active_members: 4,
      new_members: 2,
      repeat_members: 1,
      repeat_rate: "0.2500",
      cross_partner_members: 1,
      points_issued: 380,
      points_redeemed: 225,
      nps: { responses: 4, promoters: 2, passives: 0, detractors: 2, score: 0 },
    });
    const mine = await P.client.call("GET", `/v1/insights?${NOV}`);
    expect(report.partners.find((r) => r.partner_id === P.id)).toEqual({ partner_id: P.id, ...(mine as object) });
    expect(report.partners.map((r) => r.partner_id).sort()).toEqual([P.id, Q.id].sort());
  });

  it("refuses a period that ends before it starts or is over 366 days, and a partner token on the finance report", async () => {
    for (const q of ["from=2026-12-01&to=2026-11-01", "from=2026-11-01&to=2026-11-01", "from=2025-01-01&to=2026-01-03", "from=2026-11-01", "from=2026-11-01&to=2026-12-01&x=1"]) {
      const r = await P.client.request<{ code: string }>("GET", `/v1/insights?${q}`);
      expect([q, r.status, r.body.code]).toEqual([q, 422, "validation_failed"]);
    }
    expect((await P.client.request("GET", "/v1/insights?from=2025-12-01&to=2026-12-02")).status).toBe(200); // 366 days
    const asPartner = await P.client.request<{ code: string }>("GET", `/v1/reports/engagement?${NOV}`);
    expect([asPartner.status, asPartner.body.code]).toEqual([403, "role_forbidden"]);
  });
});
