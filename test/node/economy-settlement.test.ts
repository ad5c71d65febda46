/**
 * Settlement with the members' own economy, computed by hand: points issued by a
 * redemption-billed partner, transferred to another member, then burned at a third partner bill
 * the issuer exactly once, at the price locked when it issued them; referral bonuses appear in no
 * partner's amounts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, draftCurrentMonth, type Harness } from "../support/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ REFERRAL_BONUS_POINTS: "250" });
});
afterAll(() => h.close());

interface Statement {
  partner_id: string;
  billing: string;
  earned_points: number;
  burned_points: number;
  operator_funded_points: number;
  issuance_amount: string;
  redemption_amount: string;
  net_amount: string;
}

const ONE_PER_EUR = [{ currency: "EUR", category: "*", points_per_unit: "1" }];
const terms = (billing: "issuance" | "redemption", issue: string, redeem: string) =>
  ({ currency: "EUR", billing, issue_price_per_point: issue, redemption_price_per_point: redeem, period: "monthly" }) as const;

describe("transfers and referrals in settlement", () => {
  it("bills the issuer once, at its locked price, for points redeemed after a transfer; referral bonuses bill no one", async () => {
    const issuer = await h.partner({ settlement: terms("redemption", "0.02", "0.008"), earn_rules: ONE_PER_EUR });
    const friendBrand = await h.partner({ category: "retail", settlement: terms("issuance", "0.01", "0.008"), earn_rules: ONE_PER_EUR });
    const checkout = await h.partner({ category: "ride", settlement: terms("issuance", "0.01", "0.01"), earn_rules: ONE_PER_EUR });

    // Alice, the issuer's member, earns 1,000 points (locked at 0.02); then the issuer's price rises.
    const alice = (await issuer.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "alice" })).member_id;
    await issuer.client.call("POST", "/v1/earn", { member: alice, amount_minor: 100_000, currency: "EUR", reference: "stay" });
    await h.staff("admin").call("PATCH", `/v1/admin/partners/${issuer.id}`, { settlement: { issue_price_per_point: "0.05" } });

    // Bob enrols at the friend brand with Alice's referral code and earns 100 points there: 250 + 250 in bonuses.
    const code = (await issuer.client.call<{ code: string }>("GET", `/v1/members/${alice}/referral-code`)).code;
    const bob = (await friendBrand.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "bob", referral_code: code })).member_id;
    await friendBrand.client.call("POST", "/v1/earn", { member: bob, amount_minor: 10_000, currency: "EUR", reference: "shirt" });

    // Alice sends Bob 600 of the issuer's points.
    const { code: receive } = await friendBrand.client.call<{ code: string }>("POST", `/v1/members/${bob}/receive-codes`, {});
    await issuer.client.call("POST", `/v1/members/${alice}/transfers`, { code: receive, points: 600, reference: "gift" });

    // Bob links the checkout brand and burns 700 there: the 600 transferred points go first (they expire first), then 100 of his own.
    const { code: link } = await friendBrand.client.call<{ code: string }>("POST", `/v1/members/${bob}/link-codes`, {});
    await checkout.client.call("POST", "/v1/links", { code: link, external_ref: "rider-bob" });
    await checkout.client.call("POST", "/v1/burn", { member: "ext:rider-bob", points: 700, reference: "ride" });
    expect((await checkout.client.call<{ balance: { available: number } }>("GET", "/v1/members/ext:rider-bob")).balance.available).toBe(250); // Bob's bonus
    expect((await issuer.client.call<{ balance: { available: number } }>("GET", `/v1/members/${alice}`)).balance.available).toBe(400 + 250);

    const run = await draftCurrentMonth<Statement>(h);
    const { start, next } = run;
    const of = (id: string) => run.statements.find((s) => s.partner_id === id)!;

    // Issuer (redemption billing): 600 of its points redeemed, at the 0.02 locked on the earn (not 0.05), once: 12.00.
    expect(of(issuer.id)).toMatchObject({ billing: "redemption", earned_points: 1_000, burned_points: 0, operator_funded_points: 0, issuance_amount: "12.00", net_amount: "12.00" });
    // Friend brand (issuance billing): its 100 earned points at 0.01 = 1.00; the 500 bonus points are nobody's.
    expect(of(friendBrand.id)).toMatchObject({ earned_points: 100, operator_funded_points: 0, issuance_amount: "1.00", redemption_amount: "0.00", net_amount: "1.00" });
    // Checkout: paid for the 700 burned at its 0.01: 7.00.
    expect(of(checkout.id)).toMatchObject({ earned_points: 0, burned_points: 700, issuance_amount: "0.00", redemption_amount: "7.00", net_amount: "-7.00" });
    expect(await h.verify()).toEqual([]);

    // The flow matrix follows the lots: the 600 transferred points were issued by the issuer; the other
    // 100 came from Bob's own lots (his earn or his bonus: both expire together, so either goes first).
    const flows = await h.staff("finance").call<{ matrix: { earned_at: string | null; burned_at: string; points: number }[] }>(
      "GET",
      `/v1/reports/flows?from=${start}&to=${next}`,
    );
    const atCheckout = flows.matrix.filter((m) => m.burned_at === checkout.id);
    expect(atCheckout.find((m) => m.earned_at === issuer.id)?.points).toBe(600);
    expect(atCheckout.reduce((sum, m) => sum + m.points, 0)).toBe(700);
    expect(atCheckout.every((m) => [issuer.id, friendBrand.id, null].includes(m.earned_at))).toBe(true);
  });
});
