import { sql } from "drizzle-orm";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import { PartnerClient, StaffClient, type PartnerDocument } from "../../src/client/index.js";
import { createTestContext, type TestContext } from "./app.js";
import { verifyLedger, type Breach } from "../../src/ledger/verify.js";
import { createNodeApp } from "../../src/entry/node.js";

export const BASE_URL = "http://coalesce.test";

export interface TestPartner {
  id: string;
  client: PartnerClient;
  privateJwk: JWK & { kid: string; alg: string };
  doc: PartnerDocument;
}

export async function newKeyPair(kid: string, alg: "ES256" | "EdDSA" = "ES256") {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg };
  return { privateJwk, publicJwk };
}

/** Tables a refused request must leave untouched. */
const WATCHED_TABLES = [
  "partners",
  "partner_keys",
  "members",
  "member_links",
  "used_tokens",
  "idempotency_keys",
  "rate_windows",
  "link_codes",
  "portal_tokens",
  "postings",
  "entries",
  "lots",
  "holds",
  "events",
  "member_earn_months",
  "rewards",
  "redemptions",
  "vouchers",
  "receive_codes",
  "transfers",
  "referral_codes",
  "referrals",
  "activity_postings",
];

export interface Harness extends TestContext {
  fetch: (input: string, init: RequestInit) => Promise<Response>;
  staff(role: "admin" | "finance"): StaffClient;
  /** Registers a partner through the admin API, as an operator would, with a fresh key pair. */
  partner(overrides?: Partial<PartnerDocument> & { alg?: "ES256" | "EdDSA" }): Promise<TestPartner>;
  rowCounts(): Promise<Record<string, number>>;
  /** Every ledger invariant (src/ledger/verify.ts); returns the breaches, [] when sound. */
  verify(): Promise<Breach[]>;
}

let counter = 0;

export async function createHarness(env: Record<string, string> = {}): Promise<Harness> {
  const t = await createTestContext(env);
  const fetch = async (input: string, init: RequestInit) => t.app.request(input, init);
  const staffClients = new Map<string, StaffClient>();
  const staff = (role: "admin" | "finance") => {
    let client = staffClients.get(role);
    if (!client) {
      client = new StaffClient({ baseUrl: BASE_URL, privateJwk: t.staffKey.privateJwk, sub: `test-${role}`, role, fetch });
      staffClients.set(role, client);
    }
    return client;
  };
  return {
    ...t,
    fetch,
    staff,
    async partner(overrides = {}) {
      const { alg = "ES256", ...docOverrides } = overrides;
      const id = docOverrides.id ?? `p${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 7)}`;
      const { privateJwk, publicJwk } = await newKeyPair(`${id}-k1`, alg);
      const doc: PartnerDocument = {
        id,
        name: `Partner ${id}`,
        category: "hotel",
        settlement: { currency: "EUR", billing: "issuance", issue_price_per_point: "0.01", redemption_price_per_point: "0.008", period: "monthly" },
        earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "10" }],
        rate_limit_per_minute: 100_000,
        keys: [publicJwk],
        ...docOverrides,
      };
      await staff("admin").createPartner(doc);
      const client = new PartnerClient({ baseUrl: BASE_URL, issuer: id, privateJwk, fetch });
      return { id, client, privateJwk, doc };
    },
    verify: () => verifyLedger(t.db.handle.db),
    async rowCounts() {
      // One round trip for all tables: the fuzz suite asks after every request.
      const columns = WATCHED_TABLES.map((table) => `(select count(*)::int from ${table}) as ${table}`).join(", ");
      const r = (await t.db.handle.db.execute(sql.raw(`select ${columns}`))) as unknown as { rows: Record<string, number>[] };
      return { ...r.rows[0]! };
    },
  };
}

/** The partner's client against an app whose clock the test moves (`now()`, in milliseconds). */
export function clientAtClock(h: Harness, p: TestPartner, now: () => number): PartnerClient {
  const app = createNodeApp(h.config, h.db.handle, () => new Date(now()));
  return new PartnerClient({
    baseUrl: BASE_URL,
    issuer: p.id,
    privateJwk: p.privateJwk,
    fetch: async (i, init) => app.request(i, init),
    clock: () => Math.floor(now() / 1000),
  });
}

/** This UTC month as a settlement period: its first day and the next month's (end exclusive). */
export function currentMonth(now = new Date()): { start: string; next: string } {
  return {
    start: `${now.toISOString().slice(0, 7)}-01`,
    next: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString().slice(0, 10),
  };
}

/** A draft settlement run over this month (period to date), as finance would make it. */
export async function draftCurrentMonth<S>(h: Harness): Promise<{ statements: S[]; start: string; next: string }> {
  const { start, next } = currentMonth();
  const run = await h.staff("finance").call<{ statements: S[] }>("POST", "/v1/settlement-runs", { period_start: start, period_end: next });
  return { statements: run.statements, start, next };
}
