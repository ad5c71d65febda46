import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { createHarness, type Harness, type TestPartner } from "../support/harness.js";

let h: Harness;
let p: TestPartner;
beforeAll(async () => {
  h = await createHarness();
  p = await h.partner({ earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "1" }] });
});
afterEach(async () => expect(await h.verify()).toEqual([]));
afterAll(() => h.close());

const hour = 3_600_000;
let n = 0;
type Earned = { base_points: number; bonus_points: number; transaction: { transaction_id: string; points: number } };

async function member() {
  return (await p.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: `promo-${++n}` })).member_id;
}
const earn = (member: string, eur: number, category?: string) =>
  p.client.call<Earned>("POST", "/v1/earn", { member, amount_minor: eur * 100, currency: "EUR", reference: `r${++n}`, ...(category ? { category } : {}) });
const promo = (body: Record<string, unknown>) =>
  h.staff("admin").call<{ promotion_id: string; remaining_points: number }>("POST", "/v1/admin/promotions", {
    partner_id: p.id,
    name: "Test promotion",
    starts_at: new Date(Date.now() - hour).toISOString(),
    ends_at: new Date(Date.now() + hour).toISOString(),
    ...body,
  });
const funded = async (txn: string) =>
  ((await h.db.handle.db.execute(sql`select operator_funded_points::int as o, bonus_points::int as b from postings where id = ${txn}`)) as unknown as {
    rows: { o: number; b: number }[];
  }).rows[0]!;

describe("promotions", () => {
  it("a partner-funded multiplier and an operator-funded fixed bonus in its category stack, reported apart from base", async () => {
    const double = await promo({ category: "spa", multiplier: "2", budget_points: 10_000, funded_by: "partner" });
    await promo({ category: "spa", fixed_points: 50, budget_points: 10_000, funded_by: "operator" });
    const m = await member();
    const e = await earn(m, 300, "spa");
    expect([e.base_points, e.bonus_points, e.transaction.points]).toEqual([300, 350, 650]);
    expect(await funded(e.transaction.transaction_id)).toEqual({ o: 50, b: 350 });
    const other = await earn(m, 300, "rooms");
    expect(other.bonus_points).toBe(0);
    const left = await h.staff("admin").call<{ remaining_points: number }>("GET", `/v1/admin/promotions/${double.promotion_id}`);
    expect(left.remaining_points).toBe(9_700);
  });

  it("shares funding, and the quote shows the bonus without drawing on the budget", async () => {
    const shared = await promo({ category: "shared", multiplier: "1.5", budget_points: 1_000, funded_by: "shared", operator_share: "0.5" });
    const m = await member();
    const quote = await p.client.call<{ points: number; bonus_points: number }>("POST", "/v1/earn/quote", {
      member: m,
      amount_minor: 10_000,
      currency: "EUR",
      category: "shared",
      reference: "q",
    });
    expect(quote).toEqual({ points: 150, base_points: 100, bonus_points: 50 });
    expect((await h.staff("admin").call<{ remaining_points: number }>("GET", `/v1/admin/promotions/${shared.promotion_id}`)).remaining_points).toBe(1_000);
    const e = await earn(m, 101, "shared");
    expect(e.bonus_points).toBe(50); // floor(101 × 0.5)
    expect(await funded(e.transaction.transaction_id)).toEqual({ o: 25, b: 50 });
  });

  it("applies only inside its time box", async () => {
    await promo({ category: "later", fixed_points: 10, budget_points: 100, funded_by: "operator", starts_at: new Date(Date.now() + hour).toISOString(), ends_at: new Date(Date.now() + 2 * hour).toISOString() });
    await promo({ category: "later", fixed_points: 10, budget_points: 100, funded_by: "operator", starts_at: new Date(Date.now() - 2 * hour).toISOString(), ends_at: new Date(Date.now() - hour).toISOString() });
    expect((await earn(await member(), 100, "later")).bonus_points).toBe(0);
  });

  it("concurrent earns never overrun a budget", async () => {
    const limited = await promo({ category: "flash", fixed_points: 70, budget_points: 1_000, funded_by: "partner" });
    const members = await Promise.all(Array.from({ length: 30 }, () => member()));
    const results = await Promise.all(members.map((m) => earn(m, 10, "flash")));
    const granted = results.reduce((s, r) => s + r.bonus_points, 0);
    expect(granted).toBe(1_000); // 14 × 70 + one last 20
    expect(results.filter((r) => r.bonus_points === 70)).toHaveLength(14);
    const left = await h.staff("admin").call<{ remaining_points: number }>("GET", `/v1/admin/promotions/${limited.promotion_id}`);
    expect(left.remaining_points).toBe(0);
    const recorded = (await h.db.handle.db.execute(
      sql`select coalesce(sum(points), 0)::int as n from posting_promotions where promotion_id = ${limited.promotion_id}`,
    )) as unknown as { rows: { n: number }[] };
    expect(recorded.rows[0]!.n).toBe(1_000);
  });

  it("a tier bonus is operator-funded and reported as bonus", async () => {
    const m = await member();
    await earn(m, 10_000); // 10,000 points earned: silver from the next earn on
    const e = await earn(m, 100);
    expect([e.base_points, e.bonus_points]).toEqual([100, 25]);
    expect(await funded(e.transaction.transaction_id)).toEqual({ o: 25, b: 25 });
    expect((await p.client.call<{ tier: string }>("GET", `/v1/members/${m}`)).tier).toBe("silver");
  });

  it("refuses malformed promotions", async () => {
    for (const body of [
      { category: "x", budget_points: 10, funded_by: "partner" },
      { category: "x", multiplier: "2", fixed_points: 5, budget_points: 10, funded_by: "partner" },
      { category: "x", multiplier: "0.5", budget_points: 10, funded_by: "partner" },
      { category: "x", multiplier: "2", budget_points: 10, funded_by: "shared" },
      { category: "x", multiplier: "2", budget_points: 10, funded_by: "partner", ends_at: new Date(Date.now() - 2 * hour).toISOString() },
    ]) {
      const res = await h.staff("admin").request("POST", "/v1/admin/promotions", { partner_id: p.id, name: "bad", starts_at: new Date(Date.now() - hour).toISOString(), ends_at: new Date(Date.now() + hour).toISOString(), ...body });
      expect([JSON.stringify(body), res.status]).toEqual([JSON.stringify(body), 422]);
    }
  });
});
