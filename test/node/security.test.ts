/**
 * Forged and malformed requests: each is refused with the spec's code and writes no row.
 * The cases are built the way an attacker would, with jose and by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CompactEncrypt, CompactSign, exportSPKI, generateKeyPair, importJWK, type JWK } from "jose";
import { bodyHash, randomId, StaffClient } from "../../src/client/index.js";
import { BASE_URL, createHarness, newKeyPair, type Harness, type TestPartner } from "../support/harness.js";

let h: Harness;
let a: TestPartner; // the victim / caller
let b: TestPartner; // another partner
let revokedKid: string;
let suspended: TestPartner;

const enc = new TextEncoder();
const b64 = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

beforeAll(async () => {
  h = await createHarness();
  a = await h.partner();
  b = await h.partner();
  suspended = await h.partner();
  await h.staff("admin").updatePartner(suspended.id, { status: "suspended" });
  const rotated = await newKeyPair(`${a.id}-old`);
  await h.staff("admin").addKey(a.id, rotated.publicJwk);
  await h.staff("admin").revokeKey(a.id, rotated.publicJwk.kid);
  revokedKid = rotated.publicJwk.kid;
  revokedKey = rotated.privateJwk;
});
afterAll(() => h.close());
let revokedKey: JWK;

interface Forgery {
  method?: string;
  path?: string;
  body?: string;
  /** Sent instead of `body` while the token covers `body`. */
  sentBody?: string;
  sentPath?: string;
  sentMethod?: string;
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  drop?: string[];
  key?: JWK;
  /** Replace the whole Authorization header. */
  authorization?: string | null;
  mangle?: (token: string) => string;
  manual?: boolean;
}

async function signByHand(header: Record<string, unknown>, claims: Record<string, unknown>, jwk: JWK): Promise<string> {
  const input = `${b64(header)}.${b64(claims)}`;
  const key = await crypto.subtle.importKey("jwk", { ...jwk, alg: undefined, kid: undefined } as JsonWebKey, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  const sig = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, enc.encode(input)));
  return `${input}.${Buffer.from(sig).toString("base64url")}`;
}

const ENROL = { method: "POST", path: "/v1/members", body: JSON.stringify({ external_ref: "forged-customer" }) };

async function token(f: Forgery, issuer: TestPartner = a): Promise<string> {
  const method = f.method ?? ENROL.method;
  const path = f.path ?? ENROL.path;
  const body = f.body ?? ENROL.body;
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    iss: issuer.id,
    aud: "coalition-api",
    iat: now,
    exp: now + 60,
    jti: randomId(),
    htm: method,
    htu: path,
    bsh: await bodyHash(enc.encode(body)),
    ...f.claims,
  };
  for (const k of f.drop ?? []) delete claims[k];
  const key = f.key ?? issuer.privateJwk;
  const header = { alg: key.alg, kid: key.kid, typ: "coalition-request+jwt", ...f.header };
  for (const [k, v] of Object.entries(header)) if (v === undefined) delete (header as Record<string, unknown>)[k];
  // jose will not sign some headers (crit); sign those by hand with WebCrypto, as an attacker could.
  const jws = f.manual
    ? await signByHand(header, claims, key)
    : await new CompactSign(enc.encode(JSON.stringify(claims))).setProtectedHeader(header as never).sign(await importJWK(key, key.alg));
  return f.mangle ? f.mangle(jws) : jws;
}

async function send(f: Forgery, issuer: TestPartner = a) {
  const authorization = f.authorization === undefined ? `Bearer ${await token(f, issuer)}` : f.authorization;
  const headers: Record<string, string> = { "content-type": "application/json", "idempotency-key": randomId() };
  if (authorization !== null) headers.authorization = authorization;
  const method = f.sentMethod ?? f.method ?? ENROL.method;
  return h.app.request(BASE_URL + (f.sentPath ?? f.path ?? ENROL.path), {
    method,
    headers,
    body: method === "GET" ? undefined : (f.sentBody ?? f.body ?? ENROL.body),
  });
}

async function expectRefused(res: Response, status: number, code: string) {
  const body = (await res.json()) as { code: string; status: number };
  expect({ status: res.status, code: body.code }).toEqual({ status, code });
  expect(res.headers.get("content-type")).toBe("application/problem+json");
}

const flipLast = (s: string) => s.slice(0, -2) + (s.at(-2) === "A" ? "B" : "A") + s.at(-1);

type Case = [name: string, forge: () => Promise<Forgery> | Forgery, status: number, code: string, issuer?: () => TestPartner];

const cases: Case[] = [
  ["no Authorization header", () => ({ authorization: null }), 401, "missing_token"],
  ["empty bearer", () => ({ authorization: "Bearer " }), 401, "malformed_token"],
  ["Basic scheme", () => ({ authorization: "Basic YTpi" }), 401, "malformed_token"],
  ["header not base64url JSON", () => ({ authorization: "Bearer eyJub3QganNvbg.e30.c2ln" }), 401, "malformed_token"],
  ["two segments only", () => ({ authorization: `Bearer ${b64({ alg: "ES256" })}.${b64({})}` }), 401, "malformed_token"],
  [
    "alg none, unsigned",
    () => ({ authorization: `Bearer ${b64({ alg: "none", kid: a.privateJwk.kid, typ: "coalition-request+jwt" })}.${b64({ iss: a.id })}.` }),
    401,
    "algorithm_not_allowed",
  ],
  [
    "alg none with a junk signature",
    () => ({ authorization: `Bearer ${b64({ alg: "none", kid: a.privateJwk.kid, typ: "coalition-request+jwt" })}.${b64({ iss: a.id })}.AAAA` }),
    401,
    "algorithm_not_allowed",
  ],
  [
    "HS256 keyed with the partner's public key",
    async () => {
      const { d: _d, ...pub } = a.privateJwk;
      const pem = await exportSPKI((await importJWK(pub, "ES256", { extractable: true })) as never);
      const now = Math.floor(Date.now() / 1000);
      const claims = { iss: a.id, aud: "coalition-api", iat: now, exp: now + 60, jti: randomId(), htm: "POST", htu: ENROL.path, bsh: await bodyHash(enc.encode(ENROL.body)) };
      const jws = await new CompactSign(enc.encode(JSON.stringify(claims)))
        .setProtectedHeader({ alg: "HS256", kid: a.privateJwk.kid, typ: "coalition-request+jwt" })
        .sign(enc.encode(pem));
      return { authorization: `Bearer ${jws}` };
    },
    401,
    "algorithm_not_allowed",
  ],
  [
    "RS256 with an attacker's RSA key",
    async () => {
      const { privateKey } = await generateKeyPair("RS256", { extractable: true });
      const jwk = { ...(await (await import("jose")).exportJWK(privateKey)), alg: "RS256", kid: a.privateJwk.kid };
      return { key: jwk };
    },
    401,
    "algorithm_not_allowed",
  ],
  [
    "ES384",
    async () => {
      const { privateKey } = await generateKeyPair("ES384", { extractable: true });
      return { key: { ...(await (await import("jose")).exportJWK(privateKey)), alg: "ES384", kid: a.privateJwk.kid } };
    },
    401,
    "algorithm_not_allowed",
  ],
  [
    "EdDSA token against a key registered for ES256",
    async () => ({ key: { ...(await newKeyPair(a.privateJwk.kid, "EdDSA")).privateJwk } }),
    401,
    "algorithm_not_allowed",
  ],
  ["an unknown kid", () => ({ header: { kid: "no-such-kid" } }), 401, "unknown_key"],
  ["another partner's kid (and key), own iss", () => ({ key: b.privateJwk }), 401, "unknown_key"],
  ["a revoked key", () => ({ key: revokedKey }), 401, "unknown_key"],
  ["jku header", () => ({ header: { jku: "https://attacker.example/jwks.json" } }), 401, "malformed_token"],
  ["x5u header", () => ({ header: { x5u: "https://attacker.example/cert.pem" } }), 401, "malformed_token"],
  [
    "embedded jwk header",
    async () => {
      const evil = await newKeyPair(a.privateJwk.kid);
      const { d: _d, ...pub } = evil.privateJwk;
      return { key: evil.privateJwk, header: { jwk: pub } };
    },
    401,
    "malformed_token",
  ],
  ["x5c header", () => ({ header: { x5c: ["MIIB"] } }), 401, "malformed_token"],
  ["crit header", () => ({ header: { crit: ["exp"] }, manual: true }), 401, "malformed_token"],
  ["a hand-signed valid token is accepted by the same path (control)", () => ({ manual: true, body: JSON.stringify({ external_ref: "hand-signed" }) }), 201, "", () => a],
  ["zip header", () => ({ header: { zip: "DEF" } }), 401, "malformed_token"],
  ["typ JWT", () => ({ header: { typ: "JWT" } }), 401, "type_invalid"],
  ["typ missing", () => ({ header: { typ: undefined } }), 401, "type_invalid"],
  ["aud of another service", () => ({ claims: { aud: "some-other-api" } }), 401, "audience_invalid"],
  ["aud list without ours", () => ({ claims: { aud: ["a", "b"] } }), 401, "audience_invalid"],
  ["iss naming no partner", () => ({ claims: { iss: "no-such-partner" } }), 401, "issuer_invalid"],
  ["expired beyond the skew", () => ({ claims: { iat: Math.floor(Date.now() / 1000) - 200, exp: Math.floor(Date.now() / 1000) - 70 } }), 401, "token_expired"],
  [
    "iat in the future beyond the skew",
    () => ({ claims: { iat: Math.floor(Date.now() / 1000) + 120, exp: Math.floor(Date.now() / 1000) + 180 } }),
    401,
    "token_not_yet_valid",
  ],
  ["lifetime over 300 s", () => ({ claims: { exp: Math.floor(Date.now() / 1000) + 301 } }), 401, "lifetime_too_long"],
  ...(["iss", "aud", "iat", "exp", "jti", "htm", "htu", "bsh"].map(
    (claim) => [`claim ${claim} missing`, () => ({ drop: [claim] }), 401, "malformed_token"] as Case,
  )),
  ["jti shorter than 16", () => ({ claims: { jti: "x".repeat(15) } }), 401, "malformed_token"],
  ["jti longer than 128", () => ({ claims: { jti: "x".repeat(129) } }), 401, "malformed_token"],
  ["iat as a string", () => ({ claims: { iat: String(Math.floor(Date.now() / 1000)) } }), 401, "malformed_token"],
  ["exp as a float", () => ({ claims: { exp: Math.floor(Date.now() / 1000) + 60.5 } }), 401, "malformed_token"],
  ["htm GET on a POST", () => ({ claims: { htm: "GET" } }), 401, "request_mismatch"],
  ["htm lower case", () => ({ claims: { htm: "post" } }), 401, "request_mismatch"],
  ["htu for another path", () => ({ claims: { htu: "/v1/links" } }), 401, "request_mismatch"],
  ["htu with a query the request lacks", () => ({ claims: { htu: "/v1/members?x=1" } }), 401, "request_mismatch"],
  ["htu as a full URL", () => ({ claims: { htu: `${BASE_URL}/v1/members` } }), 401, "request_mismatch"],
  [
    "htu decoded where the wire is percent-encoded",
    () => ({ method: "GET", path: "/v1/members/ext:room 12", sentPath: "/v1/members/ext:room%2012", body: "" }),
    401,
    "request_mismatch",
  ],
  ["body changed by one byte", () => ({ sentBody: ENROL.body.replace("forged", "forgeD") }), 401, "body_mismatch"],
  ["bsh of the empty body with a body sent", () => ({ body: "", sentBody: ENROL.body }), 401, "body_mismatch"],
  ["signature altered", () => ({ mangle: flipLast }), 401, "signature_invalid"],
  [
    "claims altered after signing",
    () => ({
      mangle: (jws: string) => {
        const [h64, p64, s64] = jws.split(".");
        const claims = JSON.parse(Buffer.from(p64!, "base64url").toString());
        claims.exp += 10;
        return `${h64}.${b64(claims)}.${s64}`;
      },
    }),
    401,
    "signature_invalid",
  ],
  ["signed by another key claiming the right kid", async () => ({ key: (await newKeyPair(a.privateJwk.kid)).privateJwk }), 401, "signature_invalid"],
  [
    "a JWE instead of a JWS",
    async () => ({
      authorization: `Bearer ${await new CompactEncrypt(enc.encode("{}")).setProtectedHeader({ alg: "dir", enc: "A256GCM" }).encrypt(new Uint8Array(32))}`,
    }),
    401,
    "malformed_token",
  ],
  ["an Authorization header over 8 KiB", () => ({ claims: { pad: "x".repeat(9_000) } }), 401, "malformed_token"],
  ["a suspended partner", () => ({}), 403, "partner_suspended", () => suspended],
];

describe("forged and malformed partner requests", () => {
  it("has at least 40 cases", () => expect(cases.length).toBeGreaterThanOrEqual(40));

  const table = cases.map(([name, forge, status, code, issuer]) => ({ name, forge, status, code, issuer }));
  it.each(table.filter((c) => c.status >= 400))("$name → $status $code, and nothing is written", async ({ forge, status, code, issuer }) => {
    const before = await h.rowCounts();
    const res = await send(await forge(), issuer?.() ?? a);
    await expectRefused(res, status, code);
    expect(await h.rowCounts()).toEqual(before);
  });

  // The forgeries above are refused for the reason named, not because the harness is broken.
  it.each(table.filter((c) => c.status < 400))("$name", async ({ forge, status }) => {
    const res = await send(await forge());
    expect(res.status).toBe(status);
  });
});

describe("replay", () => {
  it("a replayed jti is refused, and the replay writes nothing", async () => {
    const jws = await token({ body: JSON.stringify({ external_ref: "replay-me" }) });
    const headers = { authorization: `Bearer ${jws}`, "content-type": "application/json" };
    const body = JSON.stringify({ external_ref: "replay-me" });
    const first = await h.app.request(`${BASE_URL}/v1/members`, { method: "POST", headers: { ...headers, "idempotency-key": "k-1" }, body });
    expect(first.status).toBe(201);
    const before = await h.rowCounts();
    const again = await h.app.request(`${BASE_URL}/v1/members`, { method: "POST", headers: { ...headers, "idempotency-key": "k-2" }, body });
    await expectRefused(again, 401, "replayed_token");
    expect(await h.rowCounts()).toEqual(before);
  });

  it("a jti is scoped to its issuer: another partner may use the same value", async () => {
    const jti = randomId();
    const r1 = await send({ method: "GET", path: "/v1/members/ext:nobody", body: "", claims: { jti } }, a);
    const r2 = await send({ method: "GET", path: "/v1/members/ext:nobody", body: "", claims: { jti } }, b);
    expect([r1.status, r2.status]).toEqual([404, 404]);
  });
});

describe("roles", () => {
  const staffCall = (role: "admin" | "finance", extra: Record<string, unknown> = {}) =>
    new StaffClient({ baseUrl: BASE_URL, privateJwk: h.staffKey.privateJwk, sub: "mallory", role, fetch: h.fetch, ...extra });

  it("a finance token cannot run admin routes", async () => {
    const before = await h.rowCounts();
    const res = await staffCall("finance").request("PATCH", `/v1/admin/partners/${a.id}`, { status: "suspended" });
    expect([res.status, (res.body as { code: string }).code]).toEqual([403, "role_forbidden"]);
    expect(await h.rowCounts()).toEqual(before);
  });

  it("a partner token cannot run staff routes", async () => {
    const before = await h.rowCounts();
    const res = await a.client.request("PATCH", `/v1/admin/partners/${a.id}`, { rate_limit_per_minute: 1_000_000 });
    expect([res.status, (res.body as { code: string }).code]).toEqual([403, "role_forbidden"]);
    expect(await h.rowCounts()).toEqual(before);
  });

  it("a staff token cannot run partner routes", async () => {
    const res = await staffCall("admin").request("POST", "/v1/members", { external_ref: "staff-made" });
    expect([res.status, (res.body as { code: string }).code]).toEqual([403, "role_forbidden"]);
  });

  it("a staff token without sub, or with an unknown role, is malformed", async () => {
    const noSub = await staffCall("admin", { sub: undefined }).request("PATCH", `/v1/admin/partners/${a.id}`, { name: "x" }, { claims: { sub: undefined } });
    expect((noSub.body as { code: string }).code).toBe("malformed_token");
    const root = await staffCall("admin").request("PATCH", `/v1/admin/partners/${a.id}`, { name: "x" }, { claims: { role: "root" } });
    expect((root.body as { code: string }).code).toBe("malformed_token");
  });

  it("a staff token signed by a key not in OPERATOR_JWKS is unknown_key", async () => {
    const stranger = await newKeyPair("staff-test");
    const res = await new StaffClient({ baseUrl: BASE_URL, privateJwk: (await newKeyPair("not-ours")).privateJwk, sub: "x", role: "admin", fetch: h.fetch }).request(
      "PATCH",
      `/v1/admin/partners/${a.id}`,
      { name: "x" },
    );
    expect((res.body as { code: string }).code).toBe("unknown_key");
    const sameKid = await new StaffClient({ baseUrl: BASE_URL, privateJwk: stranger.privateJwk, sub: "x", role: "admin", fetch: h.fetch }).request(
      "PATCH",
      `/v1/admin/partners/${a.id}`,
      { name: "x" },
    );
    expect((sameKid.body as { code: string }).code).toBe("signature_invalid");
  });
});
