/**
 * Fuzzing from the OpenAPI document: generated requests, valid-looking and mutated, over every
 * documented route, signed as the caller each route expects. Never a 5xx; every error is
 * problem+json; a request refused as invalid input writes nothing. Seeded: FC_SEED, FUZZ_RUNS.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import type { CoalesceClient } from "../../src/client/index.js";
import { createHarness, type Harness, type TestPartner } from "../support/harness.js";

let h: Harness;
let p: TestPartner;
let fixtures: Record<string, string[]>;
let routes: { method: string; path: string }[];

beforeAll(async () => {
  h = await createHarness();
  p = await h.partner({ allow_explicit_points: true });
  const m = await p.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "fuzz-member" });
  const earn = await p.client.call<{ transaction: { transaction_id: string } }>("POST", "/v1/earn", { member: m.member_id, amount_minor: 100_000, currency: "EUR", reference: "seed" });
  const hold = await p.client.call<{ hold_id: string }>("POST", "/v1/holds", { member: m.member_id, points: 10, reference: "seed" });
  fixtures = {
    member: [m.member_id, "ext:fuzz-member", "ext:nobody", "mbr_00000000000000000000000000", "ext:%E2%9C%93", "mbr_../../etc", "x".repeat(150)],
    transaction_id: [earn.transaction.transaction_id, "txn_00000000000000000000000000", "%00", "txn_", "'; drop table postings; --"],
    hold_id: [hold.hold_id, "hold_x", "%2F%2F"],
    partner_id: [p.id, "no-such-partner", "UPPER", ""],
    kid: [`${p.id}-k1`, "nope"],
    run_id: ["run_00000000000000000000000000", "x"],
    statement_id: ["stmt_00000000000000000000000000"],
    member_id: [m.member_id, "mbr_00000000000000000000000000"],
    promotion_id: ["promo_x"],
    event_id: ["evt_x"],
  };
  const doc = (await (await h.app.request("/openapi.json")).json()) as { paths: Record<string, Record<string, unknown>> };
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
const bodyArb = fc.oneof(
  fc.dictionary(
    fc.constantFrom("member", "amount_minor", "currency", "reference", "points", "category", "external_ref", "code", "ttl_seconds", "period_start", "period_end", "available_at", "jwk", "status", "extra"),
    fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), scalar, { maxKeys: 3 })),
    { maxKeys: 6 },
  ),
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ maxLength: 200 }).map((s) => ({ raw: s })),
);

const WRITE_FREE = new Set(["validation_failed", "malformed_request", "unsupported_media_type", "payload_too_large", "not_found", "method_not_allowed"]);

describe("fuzzing every documented route", () => {
  it("never answers 5xx, always problem+json on errors, and invalid input writes nothing", async () => {
    const runs = Number(process.env.FUZZ_RUNS ?? 10_000);
    const seed = Number(process.env.FC_SEED ?? 4242);
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat(routes.length - 1),
        fc.array(fc.nat(50), { minLength: 3, maxLength: 3 }),
        bodyArb,
        fc.constantFrom("", "?limit=0", "?limit=5", "?limit=abc", "?from=2026-01-01&to=2026-02-01", "?member=ext:fuzz-member", "?cursor=zzz", "?x=1"),
        fc.boolean(),
        async (routeIndex, picks, body, query, sendBody) => {
          const route = routes[routeIndex]!;
          let i = 0;
          const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
            const options = fixtures[name] ?? ["x"];
            return encodeURIComponent(options[picks[i++ % picks.length]! % options.length]!).replace(/%3A/g, ":");
          });
          const raw = body !== null && typeof body === "object" && "raw" in body ? String((body as { raw: unknown }).raw) : JSON.stringify(body);
          const before = await h.rowCounts();
          const res = await callerFor(route.path).request(route.method, path + query, route.method === "GET" || route.method === "DELETE" || !sendBody ? undefined : raw);
          sent++;
          expect(res.status, `${route.method} ${path}${query} → ${res.status} ${JSON.stringify(res.body)}`).toBeLessThan(500);
          if (res.status >= 400) {
            expect(res.headers.get("content-type")).toBe("application/problem+json");
            const problem = res.body as { code: string; status: number; request_id: string };
            expect(problem.status).toBe(res.status);
            expect(typeof problem.code).toBe("string");
            if (WRITE_FREE.has(problem.code)) {
              const after = await h.rowCounts();
              // Only the caller's spent token (a replay guard) may remain, never a business row; a
              // "not found" met while acting is the stored answer of its Idempotency-Key.
              const ignore = { used_tokens: 0, rate_windows: 0, ...(problem.code === "not_found" ? { idempotency_keys: 0 } : {}) };
              expect({ ...after, ...ignore }, `${route.method} ${path}: ${problem.code} wrote`).toEqual({ ...before, ...ignore });
            }
          }
        },
      ),
      { numRuns: runs, seed },
    );
    expect(sent).toBe(runs);
    expect(await h.verify()).toEqual([]);
  });
});
