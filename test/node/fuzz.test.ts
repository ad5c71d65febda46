/**
 * Fuzzing from the OpenAPI document: generated requests, valid-looking and mutated, over every
 * documented route, signed as the caller each route expects. Never a 5xx; every error is
 * problem+json; every answer has a documented status, content type and schema; a request refused
 * as invalid input writes nothing. Seeded: FC_SEED, FUZZ_RUNS.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import type { CoalesceClient } from "../../src/client/index.js";
import { createHarness, type Harness, type TestPartner } from "../support/harness.js";
import { responseChecker, type OpenApiDoc } from "../support/openapi-check.js";

let h: Harness;
let p: TestPartner;
let fixtures: Record<string, string[]>;
let routes: { method: string; path: string }[];
let checkResponse: ReturnType<typeof responseChecker>;
let publicJwk: Record<string, unknown>;
const receiveCodes: string[] = [];
const rewardIds: string[] = [];

beforeAll(async () => {
  h = await createHarness();
  p = await h.partner({ allow_explicit_points: true, activity_rules: [{ activity: "review", points: 5, per_member_daily: 50 }] });
  const m = await p.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "fuzz-member" });
  // What the fuzz may erase or revoke without ending the run: a second member, a second key.
  const spare = await p.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "fuzz-spare" });
  const { d: _private, ...pub } = p.privateJwk;
  publicJwk = pub;
  await h.staff("admin").call("POST", `/v1/admin/partners/${p.id}/keys`, { jwk: { ...publicJwk, kid: `${p.id}-spare` } });
  const earn = await p.client.call<{ transaction: { transaction_id: string } }>("POST", "/v1/earn", { member: m.member_id, amount_minor: 100_000, currency: "EUR", reference: "seed" });
  const holds: string[] = [];
  for (let i = 0; i < 4; i++) holds.push((await p.client.call<{ hold_id: string }>("POST", "/v1/holds", { member: m.member_id, points: 10, reference: `seed-${i}` })).hold_id);
  // Ids the read routes can find: a promotion, a draft run, a prepaid partner.
  const promotion = await h.staff("admin").call<{ promotion_id: string }>("POST", "/v1/admin/promotions", {
    partner_id: p.id, name: "Seed", multiplier: "1.5", funded_by: "partner", starts_at: "2026-01-01T00:00:00Z", ends_at: "2027-01-01T00:00:00Z", budget_points: 50,
  });
  const run = await h.staff("finance").call<{ run_id: string }>("POST", "/v1/settlement-runs", { period_start: "2025-01-01", period_end: "2025-02-01" });
  const prepaid = await h.partner({ settlement: { ...p.doc.settlement, prepaid_points: 1_000 } });
  // The members' economy and the catalogue: receive codes of the spare member (each sends once),
  // a reward the partner supplies itself (a voucher and an item), and redemptions of them.
  // (The friend's, not the spare member's: the fuzz erases the spare member, and its codes with it.)
  const friend = await p.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "fuzz-friend" });
  for (let i = 0; i < 20; i++) receiveCodes.push((await p.client.call<{ code: string }>("POST", `/v1/members/${friend.member_id}/receive-codes`, {})).code);
  const admin = h.staff("admin");
  const voucher = await admin.call<{ reward_id: string }>("POST", "/v1/admin/rewards", { supplier_id: p.id, kind: "voucher", name: "Fuzz card", points: 5, supplier_price: "1" });
  const item = await admin.call<{ reward_id: string }>("POST", "/v1/admin/rewards", { supplier_id: p.id, kind: "item", name: "Fuzz mug", points: 5, supplier_price: "1" });
  rewardIds.push(voucher.reward_id, item.reward_id);
  const redemptions: string[] = [];
  const codes: string[] = [];
  for (let i = 0; i < 3; i++) {
    const v = await p.client.call<{ redemption_id: string; vouchers: { code: string }[] }>("POST", "/v1/redemptions", { member: m.member_id, reward_id: voucher.reward_id, reference: `seed-v${i}` });
    codes.push(v.vouchers[0]!.code);
    redemptions.push(v.redemption_id);
  }
  // Items outnumber vouchers: fulfil and reject need a requested one, and cancel ends them too.
  for (let i = 0; i < 9; i++) redemptions.push((await p.client.call<{ redemption_id: string }>("POST", "/v1/redemptions", { member: m.member_id, reward_id: item.reward_id, reference: `seed-i${i}` })).redemption_id);
  fixtures = {
    reward_id: [...rewardIds, "rwd_00000000000000000000000000", "rwd_x"],
    redemption_id: [...redemptions, "rdm_00000000000000000000000000", "%00"],
    code: [...codes, "0000-0000-0000-0000", "not-a-code"],
    member: [m.member_id, "ext:fuzz-member", "ext:nobody", "mbr_00000000000000000000000000", "ext:%E2%9C%93", "mbr_../../etc", "x".repeat(150), "ext:%00", "ext:fuzz%00member"],
    transaction_id: [earn.transaction.transaction_id, "txn_00000000000000000000000000", "%00", "txn_", "'; drop table postings; --"],
    hold_id: [...holds, "hold_x", "%2F%2F"],
    partner_id: [p.id, prepaid.id, "no-such-partner", "UPPER", ""],
    kid: [`${p.id}-spare`, "nope"],
    run_id: [run.run_id, "run_00000000000000000000000000", "x"],
    statement_id: ["stmt_00000000000000000000000000"],
    member_id: [spare.member_id, "mbr_00000000000000000000000000"],
    spare_member: [spare.member_id, "ext:fuzz-spare", "ext:nobody"],
    promotion_id: [promotion.promotion_id, "promo_x"],
    event_id: ["evt_x"],
  };
  const doc = (await (await h.app.request("/openapi.json")).json()) as OpenApiDoc;
  checkResponse = responseChecker(doc);
  routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => ({ method: method.toUpperCase(), path })));
});
afterAll(() => h.close());

function callerFor(path: string): CoalesceClient {
  if (path.startsWith("/v1/admin/")) return h.staff("admin");
  if (/^\/v1\/(settlement-runs|reports|staff)/.test(path)) return h.staff("finance");
  return p.client;
}

const scalar = fc.oneof(
  fc.integer({ min: -2, max: 2_000_000_000 }),
  fc.double({ noNaN: false }),
  fc.string({ maxLength: 40 }),
  fc.constantFrom("", "EUR", "ext:fuzz-member", "2026-10-01", "2026-13-45", "1e309", "-0", "0.008", "*", null, true),
);
/** Text Postgres cannot store: a NUL, or a lone UTF-16 surrogate (JSON carries both). */
const poisonArb = fc.oneof(
  { arbitrary: fc.constant(null), weight: 3 },
  { arbitrary: fc.record({ char: fc.constantFrom("\u0000", "\ud800", "\udfff"), at: fc.nat(40) }), weight: 1 },
);

/** Puts the poison into every string of the body, keys included, at a position within each. */
function poisonAll(value: unknown, poison: { char: string; at: number }): unknown {
  const spoil = (text: string) => {
    const i = text.length === 0 ? 0 : poison.at % (text.length + 1);
    return text.slice(0, i) + poison.char + text.slice(i);
  };
  if (typeof value === "string") return spoil(value);
  if (Array.isArray(value)) return value.map((v) => poisonAll(v, poison));
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k === "raw" ? k : spoil(k), poisonAll(v, poison)]));
  return value;
}
const hasString = (value: unknown): boolean =>
  typeof value === "string" || (Array.isArray(value) ? value.some(hasString) : value !== null && typeof value === "object" && Object.values(value).some(hasString));

const bodyArb = fc.oneof(
  fc.dictionary(
    fc.constantFrom("member", "amount_minor", "currency", "reference", "points", "category", "external_ref", "code", "ttl_seconds", "period_start", "period_end", "available_at", "jwk", "status", "extra"),
    fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), scalar, { maxKeys: 3 })),
    { maxKeys: 6 },
  ),
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ maxLength: 200 }).map((s) => ({ raw: s })),
);

/**
 * Bodies the route accepts (fresh references, so many succeed), so the fuzz reaches success
 * answers and their schemas too, not only refusals. `n` makes each one unique.
 */
const validBodies: Record<string, (n: number) => unknown> = {
  "POST /v1/members": (n) => ({ external_ref: `fz-${n}` }),
  "POST /v1/earn": (n) => ({ member: "ext:fuzz-member", amount_minor: 1_000 + n, currency: "EUR", reference: `fz-${n}` }),
  "POST /v1/earn/quote": (n) => ({ member: "ext:fuzz-member", amount_minor: n, currency: "EUR", reference: `fz-${n}`, points: 1 + (n % 9) }),
  "POST /v1/burn": (n) => ({ member: "ext:fuzz-member", points: 1, reference: `fz-${n}` }),
  "POST /v1/holds": (n) => ({ member: "ext:fuzz-member", points: 1 + (n % 3), reference: `fz-${n}` }),
  "POST /v1/holds/{hold_id}/capture": (n) => (n % 2 ? {} : { points: 1 }),
  "POST /v1/holds/{hold_id}/void": () => ({}),
  "POST /v1/transactions/{transaction_id}/reversals": (n) => ({ points: 1, reference: `fz-${n}` }),
  "POST /v1/members/{member}/link-codes": () => ({}),
  "POST /v1/members/{member}/portal-sessions": () => ({}),
  "POST /v1/links": (n) => ({ code: "ABCD-EFGH-JKLM", external_ref: `fz-${n}` }),
  "POST /v1/admin/partners": (n) => ({
    id: `fz-${n}`,
    name: "Fuzz partner",
    category: "retail",
    settlement: { currency: "EUR", billing: "issuance", issue_price_per_point: "0.01", redemption_price_per_point: "0.008", period: "monthly" },
    earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "1" }],
    keys: [{ ...publicJwk, kid: `fz-${n}` }],
  }),
  "PATCH /v1/admin/partners/{partner_id}": (n) => ({ name: `Fuzz ${n}` }),
  "POST /v1/admin/partners/{partner_id}/funding": (n) => ({ mode: n % 2 ? "prepaid" : "postpaid" }),
  "POST /v1/admin/partners/{partner_id}/keys": (n) => ({ jwk: { ...publicJwk, kid: `fz-${n}` } }),
  "POST /v1/admin/partners/{partner_id}/prepaid-blocks": (n) => ({ points: 10, reference: `fz-${n}` }),
  "POST /v1/admin/promotions": (n) => ({
    partner_id: p.id,
    name: `Fuzz ${n}`,
    multiplier: "2",
    funded_by: "partner",
    starts_at: "2026-01-01T00:00:00Z",
    ends_at: "2027-01-01T00:00:00Z",
    budget_points: 100,
  }),
  "POST /v1/settlement-runs": (n) => ({ period_start: `2026-0${1 + (n % 9)}-01`, period_end: `2026-0${1 + (n % 9)}-02` }),
  "POST /v1/staff/sign-in-links": () => ({}),
  "POST /v1/members/{member}/receive-codes": () => ({}),
  "POST /v1/members/{member}/transfers": (n) => ({ code: receiveCodes[n % receiveCodes.length], points: 1, reference: `fz-${n}` }),
  "POST /v1/activities": (n) => ({ member: "ext:fuzz-member", activity: n % 5 ? "review" : "survey", reference: `fz-${n}`, ...(n % 5 ? {} : { score: n % 11 }) }),
  "POST /v1/admin/rewards": (n) => ({ supplier_id: p.id, kind: n % 2 ? "item" : "voucher", name: `Fuzz ${n}`, points: 5, supplier_price: "1", status: "paused" }),
  "PATCH /v1/admin/rewards/{reward_id}": (n) => ({ name: `Fuzz ${n}` }),
  "POST /v1/redemptions": (n) => ({ member: "ext:fuzz-member", reward_id: rewardIds[n % rewardIds.length], reference: `fz-${n}` }),
  "POST /v1/redemptions/{redemption_id}/cancel": () => ({}),
  "POST /v1/redemptions/{redemption_id}/fulfil": (n) => ({ reference: `fz-${n}` }),
  "POST /v1/redemptions/{redemption_id}/reject": (n) => ({ reason: `fz-${n}` }),
  "POST /v1/vouchers/{code}/use": (n) => ({ reference: `fz-${n}` }),
  "POST /v1/keys": (n) => ({ jwk: { ...publicJwk, kid: `fz-own-${n}` } }),
  "PUT /v1/webhook": (n) => ({ url: n % 3 ? "https://hooks.example.com/fuzz" : null }),
  "POST /v1/webhook/test": () => ({}),
};

const WRITE_FREE = new Set(["validation_failed", "malformed_request", "unsupported_media_type", "payload_too_large", "not_found", "method_not_allowed"]);

describe("fuzzing every documented route", () => {
  it("never answers 5xx, always problem+json on errors, answers as documented, and invalid input writes nothing", async () => {
    const runs = Number(process.env.FUZZ_RUNS ?? 6_000);
    const seed = Number(process.env.FC_SEED ?? 4242);
    let sent = 0;
    const successes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.nat(routes.length - 1),
        fc.array(fc.nat(50), { minLength: 3, maxLength: 3 }),
        bodyArb,
        fc.constantFrom("", "?limit=0", "?limit=5", "?limit=abc", "?from=2026-01-01&to=2026-02-01", "?member=ext:fuzz-member", "?cursor=zzz", "?x=1", "?member=ext:%00", "?cursor=%00", "?from=2026-01-01%00"),
        fc.boolean(),
        fc.nat(9),
        poisonArb,
        async (routeIndex, picks, randomBody, query, sendBody, mode, poison) => {
          const route = routes[routeIndex]!;
          // 4 in 10: a body the route accepts, half of those with one field replaced by noise.
          const template = validBodies[`${route.method} ${route.path}`];
          let body = randomBody;
          if (template && mode < 4) {
            body = template(sent) as typeof randomBody;
            if (mode < 2 && body && typeof body === "object") {
              const keys = Object.keys(body);
              if (keys.length) (body as Record<string, unknown>)[keys[picks[0]! % keys.length]!] = randomBody;
            }
          }
          // Some requests carry a NUL or a lone surrogate in every string field, keys included.
          const poisoned = poison !== null && hasString(body);
          if (poison) body = poisonAll(body, poison) as typeof randomBody;
          let i = 0;
          const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
            // Unlinking ends what the other routes need: it acts on the spare member only.
            const options = (route.method === "DELETE" && name === "member" ? fixtures.spare_member : fixtures[name]) ?? ["x"];
            return encodeURIComponent(options[picks[i++ % picks.length]! % options.length]!).replace(/%3A/g, ":");
          });
          const raw = body !== null && typeof body === "object" && "raw" in body ? String((body as { raw: unknown }).raw) : JSON.stringify(body);
          const before = await h.rowCounts();
          const res = await callerFor(route.path).request(route.method, path + query, route.method === "GET" || route.method === "DELETE" || !sendBody ? undefined : raw);
          sent++;
          expect(res.status, `${route.method} ${path}${query} → ${res.status} ${JSON.stringify(res.body)}`).toBeLessThan(500);
          const mismatch = checkResponse(route.method, route.path, res.status, res.headers.get("content-type"), res.body);
          expect(mismatch, `${route.method} ${path}${query} → ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`).toBeNull();
          const bodySent = !(route.method === "GET" || route.method === "DELETE" || !sendBody);
          if (poisoned && bodySent) expect(res.status, `${route.method} ${path}: unstorable text accepted`).toBeGreaterThanOrEqual(400);
          if (res.status < 300) successes.set(`${route.method} ${route.path}`, (successes.get(`${route.method} ${route.path}`) ?? 0) + 1);
          if (res.status >= 400) {
            expect(res.headers.get("content-type")).toBe("application/problem+json");
            const problem = res.body as { code: string; status: number; request_id: string };
            expect(problem.status).toBe(res.status);
            expect(typeof problem.code).toBe("string");
            if (WRITE_FREE.has(problem.code)) {
              const after = await h.rowCounts();
              // Only the caller's spent token (a replay guard) may remain, never a business row; a
              // "not found" or a refusal decided against the ledger's state (an earn worth no
              // points, a promotion ending before it starts) is the stored answer of its key.
              const stored = problem.code === "not_found" || (problem.code === "validation_failed" && route.method === "POST");
              const ignore = { used_tokens: 0, rate_windows: 0, ...(stored ? { idempotency_keys: 0 } : {}) };
              expect({ ...after, ...ignore }, `${route.method} ${path}: ${problem.code} wrote`).toEqual({ ...before, ...ignore });
            }
          }
        },
      ),
      { numRuns: runs, seed },
    );
    expect(sent).toBe(runs);
    console.log("fuzz: never answered 2xx:", routes.map((r) => `${r.method} ${r.path}`).filter((k) => !successes.has(k)).join(" | "));
    console.log(`fuzz: ${sent} requests, ${[...successes.values()].reduce((a, b) => a + b, 0)} answered 2xx on ${successes.size} of ${routes.length} routes`);
    expect(await h.verify()).toEqual([]);
  }, 900_000); // about 60 s alone here; the bound only catches a hang
});
