/**
 * Text Postgres cannot store (a NUL, a lone surrogate) is refused at validation with 422
 * `validation_failed` naming the field, on bodies, paths and queries, and as `malformed_token` in
 * a token's claims; never a 500, and nothing is written.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SignJWT } from "jose";
import { createHarness, BASE_URL, type Harness, type TestPartner } from "../support/harness.js";
import { bodyHash } from "../../src/lib/encoding.js";

let h: Harness;
let p: TestPartner;
let member: string;
beforeAll(async () => {
  h = await createHarness();
  p = await h.partner();
  member = (await p.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "text" })).member_id;
  await p.client.call("POST", "/v1/earn", { member, amount_minor: 10_000, currency: "EUR", reference: "fund" });
});
afterAll(() => h.close());

type Problem = { code: string; errors?: { path: string; message: string }[] };

describe("unstorable text", () => {
  it.each([
    ["POST", "/v1/members", () => ({ external_ref: "guest\u0000x" }), "external_ref", /NUL/],
    ["POST", "/v1/members", () => ({ external_ref: "guest\ud800" }), "external_ref", /surrogate/],
    ["POST", "/v1/earn", () => ({ member, amount_minor: 100, currency: "EUR", reference: "stay\u0000" }), "reference", /NUL/],
    ["POST", "/v1/earn", () => ({ member, amount_minor: 100, currency: "EUR", reference: "\udc00stay" }), "reference", /surrogate/],
    ["POST", "/v1/burn", () => ({ member, points: 1, reference: "a\u0000b" }), "reference", /NUL/],
    ["POST", "/v1/holds", () => ({ member: `ext:te\u0000xt`, points: 1, reference: "h" }), "member", /NUL/],
    ["POST", "/v1/links", () => ({ code: "ABCD-EFGH-JKMN", external_ref: "\ud83d" }), "external_ref", /surrogate/],
  ])("%s %s refuses %s", async (method, path, body, field, why) => {
    const before = await h.rowCounts();
    const res = await p.client.request<Problem>(method, path, body());
    expect([res.status, res.body.code]).toEqual([422, "validation_failed"]);
    expect(res.body.errors![0]!.path).toBe(field);
    expect(res.body.errors![0]!.message).toMatch(why);
    const after = await h.rowCounts();
    expect({ ...after, used_tokens: 0, rate_windows: 0 }).toEqual({ ...before, used_tokens: 0, rate_windows: 0 });
  });

  it("refuses a NUL in a path or a query the same way", async () => {
    const path = await p.client.request<Problem>("GET", "/v1/members/ext:guest%00x");
    expect([path.status, path.body.code, path.body.errors![0]!.path]).toEqual([422, "validation_failed", "member"]);
    const query = await p.client.request<Problem>("GET", "/v1/transactions?member=ext:a%00b");
    expect([query.status, query.body.code, query.body.errors![0]!.path]).toEqual([422, "validation_failed", "member"]);
    const admin = await h.staff("admin").request<Problem>("PATCH", `/v1/admin/partners/${p.id}`, { name: "Hotel\u0000" });
    expect([admin.status, admin.body.code, admin.body.errors![0]!.path]).toEqual([422, "validation_failed", "name"]);
  });

  it("refuses such text in a token's claims as malformed_token", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ htm: "GET", htu: "/v1/transactions", bsh: await bodyHash(new Uint8Array()) })
      .setProtectedHeader({ alg: "ES256", kid: p.privateJwk.kid, typ: "coalition-request+jwt" })
      .setIssuer(p.id)
      .setAudience(h.config.apiAudience)
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .setJti(`jti-with-a-nul-\u0000-inside`)
      .sign(await (await import("jose")).importJWK(p.privateJwk, "ES256"));
    const res = await h.fetch(`${BASE_URL}/v1/transactions`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as Problem).code).toBe("malformed_token");
  });

  it("answers a finance page with such an id 404, not 500", async () => {
    const res = await h.fetch(`${BASE_URL}/finance/runs/run_%00`, {});
    expect(res.status).toBeLessThan(500);
  });
});
