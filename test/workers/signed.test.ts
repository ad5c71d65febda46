import { exports } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { exportJWK, generateKeyPair } from "jose";
import { PartnerClient, StaffClient } from "../../src/client/index.js";

const pg = inject("workersPg");
const staffKey = inject("workersStaff");
const worker = (exports as unknown as { default: { fetch(input: string, init?: RequestInit): Promise<Response> } }).default;
const fetchWorker = (input: string, init: RequestInit) => worker.fetch(input, init);
const BASE = "https://coalesce.example";

/** Registers a partner through the admin API in the Worker, with a fresh key pair. */
async function registerPartner(alg: "ES256" | "EdDSA", name: string, category: string, pointsPerUnit: string) {
  const admin = new StaffClient({ baseUrl: BASE, privateJwk: staffKey.privateJwk, sub: "ops@workers", role: "admin", fetch: fetchWorker });
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const id = `w-${crypto.randomUUID().slice(0, 8)}`;
  const privateJwk = { ...(await exportJWK(privateKey)), kid: `${id}-k1`, alg };
  const { d: _d, ...publicJwk } = privateJwk;
  await admin.createPartner({
    id,
    name,
    category,
    settlement: { currency: "EUR", billing: "issuance", issue_price_per_point: "0.01", redemption_price_per_point: "0.008", period: "monthly" },
    earn_rules: [{ currency: "EUR", category: "*", points_per_unit: pointsPerUnit }],
    keys: [publicJwk],
  });
  return new PartnerClient({ baseUrl: BASE, issuer: id, privateJwk, fetch: fetchWorker });
}

describe.skipIf(!pg.available)("signed requests through the Worker, Neon driver, real Postgres", () => {
  it("registers a partner, enrols a member, refuses a replay", async () => {
    const partner = await registerPartner("EdDSA", "Workers Partner", "retail", "1");
    const enrolled = await partner.request<{ member_id: string }>("POST", "/v1/members", { external_ref: "w-1" }, { idempotencyKey: "w-enrol-1" });
    expect(enrolled.status).toBe(201);
    const replayedKey = await partner.request<{ member_id: string }>("POST", "/v1/members", { external_ref: "w-1" }, { idempotencyKey: "w-enrol-1" });
    expect(replayedKey.replayed).toBe(true);
    expect(replayedKey.body.member_id).toBe(enrolled.body.member_id);

    const token = await partner.sign("GET", `/v1/members/${enrolled.body.member_id}`, new Uint8Array());
    const init = { headers: { authorization: `Bearer ${token}` } };
    const first = await worker.fetch(`${BASE}/v1/members/${enrolled.body.member_id}`, init);
    expect(first.status).toBe(200);
    const replay = await worker.fetch(`${BASE}/v1/members/${enrolled.body.member_id}`, init);
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { code: string }).code).toBe("replayed_token");
  });

  it("posts earn, burn and a hold capture through the production driver, exactly once", async () => {
    const partner = await registerPartner("ES256", "Workers Hotel", "hotel", "10");
    const m = await partner.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "w-guest" });
    const body = { member: m.member_id, amount_minor: 12_345, currency: "EUR", reference: "w-stay" };
    const earned = await partner.request<{ base_points: number; balance: { available: number } }>("POST", "/v1/earn", body, { idempotencyKey: "w-earn" });
    expect(earned.status).toBe(201);
    expect(earned.body.base_points).toBe(1234);
    const retried = await partner.request("POST", "/v1/earn", body, { idempotencyKey: "w-earn" });
    expect(retried.replayed).toBe(true);
    const burn = await partner.request<{ balance: { available: number } }>("POST", "/v1/burn", { member: m.member_id, points: 234, reference: "w-burn" });
    expect(burn.body.balance.available).toBe(1000);
    const hold = await partner.call<{ hold_id: string }>("POST", "/v1/holds", { member: m.member_id, points: 600, reference: "w-hold" });
    const captured = await partner.call<{ balance: unknown }>("POST", `/v1/holds/${hold.hold_id}/capture`, { points: 100 });
    expect(captured.balance).toEqual({ available: 900, pending: 0, held: 0 });
    const over = await partner.request<{ code: string }>("POST", "/v1/burn", { member: m.member_id, points: 901, reference: "w-over" });
    expect([over.status, over.body.code]).toEqual([422, "insufficient_points"]);
  });

  it("publishes the platform key", async () => {
    const jwks = (await (await worker.fetch(`${BASE}/.well-known/jwks.json`)).json()) as { keys: { kid: string; d?: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual(["workers-platform"]);
    expect(jwks.keys[0]!.d).toBeUndefined();
  });
});
