import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError, PartnerClient } from "../../src/client/index.js";
import { createNodeApp } from "../../src/entry/node.js";
import { openDatabase } from "../../src/db/client.js";
import { BASE_URL, createHarness, newKeyPair, type Harness } from "../support/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const code = (res: { body: unknown }) => (res.body as { code?: string }).code;

describe("admin API: partners and keys", () => {
  it("registers a partner from a document and refuses the same id twice", async () => {
    const p = await h.partner({ category: "retail" });
    const again = await h.staff("admin").request("POST", "/v1/admin/partners", p.doc);
    expect([again.status, code(again)]).toEqual([409, "already_exists"]);
  });

  it("names the bad fields of a bad document and writes nothing", async () => {
    const before = await h.rowCounts();
    const res = await h.staff("admin").request("POST", "/v1/admin/partners", {
      id: "Bad Id",
      name: "",
      category: "hotel",
      settlement: { currency: "EUR", billing: "sometimes", issue_price_per_point: 0.01, redemption_price_per_point: "1", period: "monthly" },
      earn_rules: [],
      keys: [],
      balance: 1000,
    });
    expect(res.status).toBe(422);
    const paths = (res.body as { errors: { path: string }[] }).errors.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(["id", "name", "settlement.billing", "settlement.issue_price_per_point", "earn_rules", "balance"]));
    expect(await h.rowCounts()).toEqual(before);
  });

  it("suspends a partner (403 at once) and reinstates it", async () => {
    const p = await h.partner();
    expect((await p.client.request("GET", "/v1/members/ext:nobody")).status).toBe(404);
    await h.staff("admin").updatePartner(p.id, { status: "suspended" });
    const refused = await p.client.request("GET", "/v1/members/ext:nobody");
    expect([refused.status, code(refused)]).toEqual([403, "partner_suspended"]);
    await h.staff("admin").updatePartner(p.id, { status: "active" });
    expect((await p.client.request("GET", "/v1/members/ext:nobody")).status).toBe(404);
  });

  it("rotates keys: a new key works alongside the old, and a revoked key stops at once on every instance", async () => {
    const p = await h.partner();
    const next = await newKeyPair(`${p.id}-k2`, "EdDSA");
    const added = await h.staff("admin").addKey(p.id, next.publicJwk);
    expect(added).toMatchObject({ kid: `${p.id}-k2`, status: "active" });
    const newClient = new PartnerClient({ baseUrl: BASE_URL, issuer: p.id, privateJwk: next.privateJwk, fetch: h.fetch });
    expect((await newClient.request("GET", "/v1/members/ext:nobody")).status).toBe(404);
    expect((await p.client.request("GET", "/v1/members/ext:nobody")).status).toBe(404);

    // A second app instance on its own connection to the same database.
    const handle = h.db.url ? await openDatabase({ kind: "pg", url: h.db.url, max: 2 }) : h.db.handle;
    const other = createNodeApp(h.config, handle);
    const otherClient = new PartnerClient({ baseUrl: BASE_URL, issuer: p.id, privateJwk: p.privateJwk, fetch: async (i, init) => other.request(i, init) });
    try {
      expect((await otherClient.request("GET", "/v1/members/ext:nobody")).status).toBe(404);
      await h.staff("admin").revokeKey(p.id, p.privateJwk.kid);
      for (const client of [p.client, otherClient]) {
        const res = await client.request("GET", "/v1/members/ext:nobody");
        expect([res.status, code(res)]).toEqual([401, "unknown_key"]);
      }
      expect((await newClient.request("GET", "/v1/members/ext:nobody")).status).toBe(404);
      // Revoking again is harmless; a kid is never reinstated.
      await h.staff("admin").revokeKey(p.id, p.privateJwk.kid);
      const { d: _d, ...oldPublic } = p.privateJwk;
      const reuse = await h.staff("admin").request("POST", `/v1/admin/partners/${p.id}/keys`, { jwk: oldPublic });
      expect([reuse.status, code(reuse)]).toEqual([409, "already_exists"]);
    } finally {
      if (handle !== h.db.handle) await handle.close();
    }
  });

  it("refuses private key material and unknown partners or keys", async () => {
    const p = await h.partner();
    const leaked = await h.staff("admin").request("POST", `/v1/admin/partners/${p.id}/keys`, { jwk: (await newKeyPair("leak")).privateJwk });
    expect(leaked.status).toBe(422);
    expect(JSON.stringify(leaked.body)).toContain("private key material");
    const nobody = await h.staff("admin").request("POST", "/v1/admin/partners/no-such-partner/keys", { jwk: (await newKeyPair("x")).publicJwk });
    expect([nobody.status, code(nobody)]).toEqual([404, "not_found"]);
    const noKey = await h.staff("admin").request("DELETE", `/v1/admin/partners/${p.id}/keys/no-such-kid`);
    expect([noKey.status, code(noKey)]).toEqual([404, "not_found"]);
  });
});

describe("idempotency on staff and partner POSTs", () => {
  it("replays the stored answer for the same key and request, refuses it for another request", async () => {
    const p = await h.partner();
    const key = "enrol-guest-77";
    const first = await p.client.request("POST", "/v1/members", { external_ref: "guest-77" }, { idempotencyKey: key });
    expect(first.status).toBe(201);
    const retry = await p.client.request("POST", "/v1/members", { external_ref: "guest-77" }, { idempotencyKey: key });
    expect(retry.status).toBe(201);
    expect(retry.replayed).toBe(true);
    expect(retry.body).toEqual(first.body);
    const different = await p.client.request("POST", "/v1/members", { external_ref: "guest-78" }, { idempotencyKey: key });
    expect([different.status, code(different)]).toEqual([409, "idempotency_key_reused"]);
    // A new key for the same customer: the same member, 200.
    const again = await p.client.request("POST", "/v1/members", { external_ref: "guest-77" });
    expect(again.status).toBe(200);
    expect((again.body as { member_id: string }).member_id).toBe((first.body as { member_id: string }).member_id);
  });

  it("requires an Idempotency-Key of 1–255 printable characters on POST", async () => {
    const p = await h.partner();
    const before = await h.rowCounts();
    for (const bad of [undefined, "", "x".repeat(256), "tab\tkey"]) {
      const headers: Record<string, string> = {};
      const res = await p.client.request("POST", "/v1/members", { external_ref: "no-key" }, { idempotencyKey: bad ?? "", headers });
      if (bad === undefined) continue; // covered below with the header absent
      expect([res.status, code(res)]).toEqual([422, "idempotency_key_required"]);
    }
    const token = await p.client.sign("POST", "/v1/members", new TextEncoder().encode('{"external_ref":"no-key"}'));
    const res = await h.app.request(`${BASE_URL}/v1/members`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: '{"external_ref":"no-key"}',
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { code: string }).code).toBe("idempotency_key_required");
    const after = await h.rowCounts();
    // Signed requests that were refused still spent their jti (so they cannot be replayed); nothing else changed.
    expect({ ...after, used_tokens: 0, rate_windows: 0 }).toEqual({ ...before, used_tokens: 0, rate_windows: 0 });
  });

  it("concurrent requests with one key have one effect", async () => {
    const p = await h.partner();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => p.client.request("POST", "/v1/members", { external_ref: "racer" }, { idempotencyKey: "same-key" })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(201));
    expect(new Set(results.map((r) => (r.body as { member_id: string }).member_id)).size).toBe(1);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
  });
});

describe("replay protection across instances", () => {
  it("a jti accepted by one app instance is refused by another sharing the database", async () => {
    const p = await h.partner();
    const handle = h.db.url ? await openDatabase({ kind: "pg", url: h.db.url, max: 2 }) : h.db.handle;
    const second = createNodeApp(h.config, handle);
    try {
      const token = await p.client.sign("GET", "/v1/members/ext:nobody", new Uint8Array());
      const init = { headers: { authorization: `Bearer ${token}` } };
      const r1 = await h.app.request(`${BASE_URL}/v1/members/ext:nobody`, init);
      const r2 = await second.request(`${BASE_URL}/v1/members/ext:nobody`, init);
      expect(r1.status).toBe(404);
      expect(r2.status).toBe(401);
      expect(((await r2.json()) as { code: string }).code).toBe("replayed_token");
    } finally {
      if (handle !== h.db.handle) await handle.close();
    }
  });
});

describe("rate limit", () => {
  it("answers 429 rate_limited with Retry-After past the partner's limit", async () => {
    const p = await h.partner({ rate_limit_per_minute: 3 });
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof p.client.request>> | undefined;
    for (let i = 0; i < 5; i++) {
      const res = await p.client.request("GET", "/v1/members/ext:nobody");
      statuses.push(res.status);
      if (res.status === 429) limited ??= res;
    }
    // A request landing on a minute boundary starts a new window; at least one must still be refused.
    expect(statuses.slice(0, 3)).toEqual([404, 404, 404]);
    expect(statuses).toContain(429);
    expect(code(limited!)).toBe("rate_limited");
    const retryAfter = Number(limited!.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Every answer after the signature is verified says the limit and when the window ends.
    expect(limited!.headers.get("ratelimit-limit")).toBe("3");
    const reset = Number(limited!.headers.get("ratelimit-reset"));
    expect(reset >= 1 && reset <= 60).toBe(true);
    const unsigned = await h.app.request("/v1/members/ext:nobody");
    expect(unsigned.headers.get("ratelimit-limit")).toBeNull();
  });
});

describe("paths are compared as sent on the wire", () => {
  it("a percent-encoded member reference signs and resolves", async () => {
    const p = await h.partner();
    await p.client.call("POST", "/v1/members", { external_ref: "room 12/b" });
    const path = `/v1/members/${PartnerClient.memberPath("ext:room 12/b")}`;
    expect(path).toBe("/v1/members/ext:room%2012%2Fb");
    const member = await p.client.call<{ external_ref: string }>("GET", path);
    expect(member.external_ref).toBe("room 12/b");
  });
});

describe("platform keys", () => {
  it("publishes public keys only", async () => {
    const res = await h.app.request("/.well-known/jwks.json");
    expect(res.status).toBe(200);
    const jwks = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: "EC", kid: "platform-test", alg: "ES256" });
    expect(jwks.keys[0]).not.toHaveProperty("d");
  });

  it("the client's ApiError carries the problem", async () => {
    const p = await h.partner();
    const err = await p.client.call("GET", "/v1/members/ext:nobody").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).problem.code).toBe("member_not_found");
  });
});

describe("pruning request records", () => {
  it("forgets spent jtis after their tokens expire, and old rate windows", async () => {
    const { pruneExpiredRecords } = await import("../../src/auth/prune.js");
    const p = await h.partner();
    await p.client.request("GET", "/v1/members/ext:nobody");
    const services = { config: h.config, db: () => h.db.handle.db, now: () => new Date() };
    const before = await h.rowCounts();
    expect(await pruneExpiredRecords.run(services, new Date())).toBe(0);
    const later = new Date(Date.now() + 10 * 60_000);
    expect(await pruneExpiredRecords.run(services, later)).toBeGreaterThan(0);
    const after = await h.rowCounts();
    expect(after.used_tokens).toBe(0);
    expect(after.rate_windows).toBe(0);
    expect(after.partners).toBe(before.partners);
  });
});

describe("keys exported straight from WebCrypto", () => {
  it("register (with ext and key_ops) and sign requests", async () => {
    const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const pub = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as Record<string, unknown>;
    const priv = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as Record<string, unknown>;
    expect(pub).toMatchObject({ ext: true, key_ops: ["verify"] });
    const p = await h.partner();
    await h.staff("admin").addKey(p.id, { ...pub, kid: "webcrypto-1", alg: "ES256" });
    const client = new PartnerClient({ baseUrl: BASE_URL, issuer: p.id, privateJwk: { ...priv, kid: "webcrypto-1", alg: "ES256", key_ops: undefined, ext: undefined }, fetch: h.fetch });
    expect((await client.request("GET", "/v1/members/ext:nobody")).status).toBe(404);
  });
});
