/**
 * Counts the database round trips of an earn, a burn, a hold and a catalogue redemption. Goal: after authentication (one
 * lookup of the partner and key), at most 2. Every query the app sends goes through the
 * driver client's `query`, which is counted here.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness, type TestPartner } from "../support/harness.js";

let h: Harness;
let p: TestPartner;
let memberId: string;
let rewardId: string;
beforeAll(async () => {
  h = await createHarness();
  p = await h.partner();
  memberId = (await p.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "counted" })).member_id;
  await p.client.call("POST", "/v1/earn", { member: memberId, amount_minor: 100_000, currency: "EUR", reference: "seed" });
  const supplier = await h.partner();
  rewardId = (await h.staff("admin").call<{ reward_id: string }>("POST", "/v1/admin/rewards", { supplier_id: supplier.id, kind: "voucher", name: "Card", points: 10, supplier_price: "0.1", stock: 100 })).reward_id;
});
afterAll(() => h.close());

async function countQueries(action: () => Promise<unknown>): Promise<string[]> {
  const client = (h.db.handle.db as unknown as { $client: { query: (...args: unknown[]) => unknown } }).$client;
  const original = client.query;
  const seen: string[] = [];
  client.query = function (this: unknown, ...args: unknown[]) {
    const q = args[0];
    seen.push(typeof q === "string" ? q : String((q as { text?: string }).text ?? q));
    return original.apply(this, args);
  } as typeof original;
  try {
    await action();
  } finally {
    client.query = original;
  }
  return seen;
}

describe("round trips per posting", () => {
  it.each([
    ["earn", "/v1/earn", () => ({ member: memberId, amount_minor: 1_000, currency: "EUR", reference: "rt" })],
    ["burn", "/v1/burn", () => ({ member: memberId, points: 5, reference: "rt" })],
    ["hold", "/v1/holds", () => ({ member: memberId, points: 5, reference: "rt" })],
    ["redemption", "/v1/redemptions", () => ({ member: memberId, reward_id: rewardId, quantity: 2, reference: "rt" })],
  ])("%s: one lookup to authenticate, then one call that posts", async (_name, path, body) => {
    let status = 0;
    const queries = await countQueries(async () => {
      status = (await p.client.request("POST", path, body())).status;
    });
    expect(status).toBe(201);
    expect(queries).toHaveLength(2);
    expect(queries[0]).toMatch(/from partners p left join partner_keys/);
    expect(queries[1]).toMatch(/ledger_call/);
    const afterAuthentication = queries.length - 1;
    expect(afterAuthentication).toBeLessThanOrEqual(2);
  });

  it("a replayed retry costs the same two", async () => {
    const body = { member: memberId, points: 1, reference: "again" };
    await p.client.request("POST", "/v1/burn", body, { idempotencyKey: "rt-replay" });
    const queries = await countQueries(() => p.client.request("POST", "/v1/burn", body, { idempotencyKey: "rt-replay" }));
    expect(queries).toHaveLength(2);
  });
});
