/**
 * The members' economy in the real Worker (workerd, Neon driver, real Postgres): a transfer
 * within the daily limit the Worker's vars set (700, given as a number), a referral bonus of the
 * vars' 150 points, and an activity. The settings reach the Worker as they would on Cloudflare.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { exportJWK, generateKeyPair } from "jose";
import { PartnerClient, StaffClient } from "../../src/client/index.js";

const pg = inject("workersPg");
const staffKey = inject("workersStaff");
const worker = (exports as unknown as { default: { fetch(input: string, init?: RequestInit): Promise<Response> } }).default;
const fetchWorker = (input: string, init: RequestInit) => worker.fetch(input, init);
const BASE = "https://coalesce.example";

describe.skipIf(!pg.available)("transfers, referrals and activities through the Worker", () => {
  it("applies the Worker's daily transfer limit and referral bonus, and posts an activity", async () => {
    const admin = new StaffClient({ baseUrl: BASE, privateJwk: staffKey.privateJwk, sub: "ops@workers", role: "admin", fetch: fetchWorker });
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const id = `w-${crypto.randomUUID().slice(0, 8)}`;
    const privateJwk = { ...(await exportJWK(privateKey)), kid: `${id}-k1`, alg: "ES256" };
    const { d: _d, ...publicJwk } = privateJwk;
    await admin.createPartner({
      id,
      name: "Workers Economy",
      category: "retail",
      settlement: { currency: "EUR", billing: "issuance", issue_price_per_point: "0.01", redemption_price_per_point: "0.008", period: "monthly" },
      earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "1" }],
      activity_rules: [{ activity: "review", points: 40 }],
      keys: [publicJwk],
    });
    const partner = new PartnerClient({ baseUrl: BASE, issuer: id, privateJwk, fetch: fetchWorker });
    const sender = (await partner.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "w-sender" })).member_id;
    await partner.call("POST", "/v1/earn", { member: sender, amount_minor: 100_000, currency: "EUR", reference: "w-fund" });

    const code = (await partner.call<{ referral_code?: string; code: string }>("GET", `/v1/members/${sender}/referral-code`)).code;
    const friend = await partner.call<{ member_id: string; referred_by: string }>("POST", "/v1/members", { external_ref: "w-friend", referral_code: code });
    expect(friend.referred_by).toBe(sender);

    const { code: receive } = await partner.call<{ code: string }>("POST", `/v1/members/${friend.member_id}/receive-codes`, {});
    const over = await partner.request<{ code: string }>("POST", `/v1/members/${sender}/transfers`, { code: receive, points: 701, reference: "w-over" });
    expect([over.status, over.body.code]).toEqual([422, "transfer_limit_reached"]);
    const sent = await partner.request<{ transaction: { type: string }; balance: { available: number } }>("POST", `/v1/members/${sender}/transfers`, { code: receive, points: 700, reference: "w-gift" });
    expect([sent.status, sent.body.transaction.type, sent.body.balance.available]).toEqual([201, "transfer_out", 300]);

    // The friend's first earn: 150 each (the Worker's REFERRAL_BONUS_POINTS), paid at once.
    await partner.call("POST", "/v1/earn", { member: friend.member_id, amount_minor: 1_000, currency: "EUR", reference: "w-first" });
    const review = await partner.call<{ transaction: { type: string; points: number } }>("POST", "/v1/activities", { member: friend.member_id, activity: "review", reference: "w-review" });
    expect(review.transaction).toMatchObject({ type: "activity", points: 40 });
    const balanceOf = async (m: string) => (await partner.call<{ balance: { available: number } }>("GET", `/v1/members/${m}`)).balance.available;
    expect(await balanceOf(friend.member_id)).toBe(700 + 10 + 150 + 40);
    expect(await balanceOf(sender)).toBe(300 + 150);
  });
});
