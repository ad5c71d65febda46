/**
 * Settlement with the catalogue, computed by hand: the supplier is paid its locked price only for
 * units fulfilled (a voucher used, an item fulfilled), never for cancelled or rejected ones; a
 * redemption-billed issuer pays for its points redeemed in the catalogue, less refunds.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, draftCurrentMonth, type Harness } from "../support/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

interface Statement {
  partner_id: string;
  billing: string;
  earned_points: number;
  issuance_amount: string;
  redemption_amount: string;
  rewards_amount: string;
  net_amount: string;
}

describe("rewards in settlement", () => {
  it("pays the supplier for fulfilled units only and bills the issuer for its redeemed points less refunds, to the cent", async () => {
    const issuer = await h.partner({
      settlement: { currency: "EUR", billing: "redemption", issue_price_per_point: "0.0125", redemption_price_per_point: "0.008", period: "monthly" },
      earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "1" }],
    });
    const supplier = await h.partner({ category: "retail" });
    const admin = h.staff("admin");
    const item = await admin.call<{ reward_id: string }>("POST", "/v1/admin/rewards", { supplier_id: supplier.id, kind: "item", name: "Mug", points: 300, supplier_price: "2.505" });
    const card = await admin.call<{ reward_id: string }>("POST", "/v1/admin/rewards", { supplier_id: supplier.id, kind: "voucher", name: "Card", points: 200, supplier_price: "1.75" });
    const miles = await admin.call<{ reward_id: string }>("POST", "/v1/admin/rewards", {
      supplier_id: supplier.id, kind: "transfer", name: "Miles", points: 100, supplier_price: "0.8", transfer: { program: "Sky", units_per_unit: 100 },
    });
    const c = issuer.client;
    const { member_id: member } = await c.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "settle-1" });
    await c.call("POST", "/v1/earn", { member, amount_minor: 120_000, currency: "EUR", reference: "stay" }); // 1,200 points at 0.0125
    const redeem = (reward_id: string, extra: Record<string, unknown> = {}) =>
      c.call<{ redemption_id: string; vouchers?: { code: string }[] }>("POST", "/v1/redemptions", { member, reward_id, reference: `r${Math.random()}`, ...extra });

    const mugs = await redeem(item.reward_id, { quantity: 2 }); // 600 points
    await supplier.client.call("POST", `/v1/redemptions/${mugs.redemption_id}/fulfil`, { reference: "parcel" }); // owed 2 × 2.505
    const cancelled = await redeem(card.reward_id); // 200 points, then refunded
    await c.call("POST", `/v1/redemptions/${cancelled.redemption_id}/cancel`, {});
    const used = await redeem(card.reward_id); // 200 points
    await supplier.client.call("POST", `/v1/vouchers/${used.vouchers![0]!.code}/use`, { reference: "till" }); // owed 1.75
    const rejected = await redeem(miles.reward_id, { transfer_account: "SKY-1" }); // 100 points, then refunded
    await supplier.client.call("POST", `/v1/redemptions/${rejected.redemption_id}/reject`, { reason: "no such account" });
    await redeem(item.reward_id); // 300 points, requested, not fulfilled: billed to the issuer, owed to no one yet

    const run = await draftCurrentMonth<Statement>(h);
    const of = (id: string) => run.statements.find((s) => s.partner_id === id)!;

    // Issuer: redeemed 600 + 200 + 200 + 100 + 300 = 1,400, refunded 200 + 100 = 300 → 1,100 points × 0.0125 = 13.75.
    expect(of(issuer.id)).toMatchObject({ billing: "redemption", earned_points: 1_200, issuance_amount: "13.75", redemption_amount: "0.00", rewards_amount: "0.00", net_amount: "13.75" });
    // Supplier: 2 × 2.505 + 1 × 1.75 = 6.76 exactly; nothing for the cancelled voucher, the rejected transfer or the open request.
    // (Rounded half-even once, to cents.) It owes nothing, so the operator owes it: net −6.76.
    expect(of(supplier.id)).toMatchObject({ rewards_amount: "6.76", issuance_amount: "0.00", redemption_amount: "0.00", net_amount: "-6.76" });
    expect(await h.verify()).toEqual([]);
  });
});
