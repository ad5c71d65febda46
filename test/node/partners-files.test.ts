import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { exportJWK, generateKeyPair } from "jose";
import { loadPartnerFiles, PartnerFilesError } from "../../src/partners/files.js";
import { applyPartnerDocument } from "../../src/partners/apply.js";
import { PartnerDocument, type PublicJwk } from "../../src/partners/document.js";
import { partnerEarnRules, partnerKeys, partners } from "../../src/db/schema/index.js";
import { openTestDatabase, type TestDatabase } from "../support/database.js";

let t: TestDatabase;
beforeAll(async () => {
  t = await openTestDatabase();
});
afterAll(() => t.dispose());

async function publicKey(kid: string, alg: "ES256" | "EdDSA" = "ES256"): Promise<PublicJwk> {
  const { publicKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(publicKey)), kid, alg } as PublicJwk;
}

function baseDoc(id: string, keys: PublicJwk[] = []) {
  return PartnerDocument.parse({
    id,
    name: "Test Partner",
    category: "hotel",
    settlement: { currency: "EUR", billing: "issuance", issue_price_per_point: "0.01", redemption_price_per_point: "0.008", period: "monthly" },
    earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "2.5" }],
    keys,
  });
}

describe("partners/ in the repository", () => {
  it("holds a valid demo coalition: a hotel chain, a ride-hailing company and a retail chain", async () => {
    const docs = await loadPartnerFiles(join(process.cwd(), "partners"));
    expect(docs.map((d) => d.category).sort()).toEqual(["hotel", "retail", "ride_hailing"]);
    for (const d of docs) {
      expect(d.earn_rules.length).toBeGreaterThan(0);
      expect(d.settlement.issue_price_per_point).toMatch(/^\d+(\.\d+)?$/);
      expect(d.keys, "dev keys are generated at run time, never committed").toEqual([]);
    }
    expect(new Set(docs.map((d) => d.settlement.billing))).toEqual(new Set(["issuance", "redemption"]));
  });
});

describe("validation names the file and the field", () => {
  it("collects every problem before anything is applied", async () => {
    const dir = mkdtempSync(join(tmpdir(), "partners-"));
    const good = baseDoc("good-one");
    writeFileSync(join(dir, "good-one.json"), JSON.stringify(good));
    writeFileSync(join(dir, "bad-currency.json"), JSON.stringify({ ...good, id: "bad-currency", settlement: { ...good.settlement, currency: "eur" } }));
    writeFileSync(join(dir, "extra.json"), JSON.stringify({ ...good, id: "extra", partner_secret: true }));
    writeFileSync(join(dir, "mismatch.json"), JSON.stringify({ ...good, id: "another-id" }));
    writeFileSync(join(dir, "broken.json"), "{ not json");
    const priv = await exportJWK((await generateKeyPair("ES256", { extractable: true })).privateKey);
    writeFileSync(join(dir, "leaky.json"), JSON.stringify({ ...good, id: "leaky", keys: [{ ...priv, kid: "k1", alg: "ES256" }] }));
    writeFileSync(join(dir, "float-rate.json"), JSON.stringify({ ...good, id: "float-rate", earn_rules: [{ currency: "EUR", category: "*", points_per_unit: 2.5 }] }));

    const err = await loadPartnerFiles(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PartnerFilesError);
    const problems = (err as PartnerFilesError).problems.join("\n");
    expect(problems).toMatch(/bad-currency\.json: settlement\.currency: /);
    expect(problems).toMatch(/extra\.json: partner_secret: Unknown field/);
    expect(problems).toMatch(/mismatch\.json: id: "another-id" must match the file name/);
    expect(problems).toMatch(/broken\.json: not valid JSON/);
    expect(problems).toMatch(/leaky\.json: keys\.0: private key material/);
    expect(problems).toMatch(/float-rate\.json: earn_rules\.0\.points_per_unit: /);
    expect(problems).not.toMatch(/good-one/);
  });
});

describe("applying a partner document", () => {
  it("is idempotent, replaces terms, and adds and revokes keys as the document says", async () => {
    const k1 = await publicKey("k1");
    const k2 = await publicKey("k2", "EdDSA");
    const now = new Date();
    const first = await applyPartnerDocument(t.handle.db, baseDoc("sync-a", [k1]), { mode: "upsert", now });
    expect(first).toMatchObject({ change: "created", keys_added: ["k1"], keys_revoked: [] });
    const again = await applyPartnerDocument(t.handle.db, baseDoc("sync-a", [k1]), { mode: "upsert", now });
    expect(again).toMatchObject({ change: "unchanged", keys_added: [], keys_revoked: [] });

    const rotated = { ...baseDoc("sync-a", [k2]), earn_rules: [{ currency: "USD", category: "*", points_per_unit: "3" }] };
    const third = await applyPartnerDocument(t.handle.db, rotated, { mode: "upsert", now });
    expect(third).toMatchObject({ change: "updated", keys_added: ["k2"], keys_revoked: ["k1"] });

    const keys = await t.handle.db.select().from(partnerKeys).where(eq(partnerKeys.partnerId, "sync-a"));
    expect(Object.fromEntries(keys.map((k) => [k.kid, k.status]))).toEqual({ k1: "revoked", k2: "active" });
    const rules = await t.handle.db.select().from(partnerEarnRules).where(eq(partnerEarnRules.partnerId, "sync-a"));
    expect(rules).toEqual([{ partnerId: "sync-a", currency: "USD", category: "*", pointsPerUnit: "3.000000" }]);
  });

  it("never reinstates a revoked kid, nor accepts a kid with other key material, and writes nothing then", async () => {
    const k1 = await publicKey("k1");
    const now = new Date();
    await applyPartnerDocument(t.handle.db, baseDoc("sync-b", [k1]), { mode: "upsert", now });
    await applyPartnerDocument(t.handle.db, baseDoc("sync-b", []), { mode: "upsert", now });
    await expect(applyPartnerDocument(t.handle.db, { ...baseDoc("sync-b", [k1]), name: "Renamed" }, { mode: "upsert", now })).rejects.toMatchObject({
      code: "validation_failed",
    });
    const other = await publicKey("k1");
    await expect(applyPartnerDocument(t.handle.db, baseDoc("sync-b", [other]), { mode: "upsert", now })).rejects.toMatchObject({
      code: "validation_failed",
    });
    const [row] = await t.handle.db.select().from(partners).where(eq(partners.id, "sync-b"));
    expect(row?.name).toBe("Test Partner");
  });

  it("refuses a key that is not a point on its curve", async () => {
    const k = await publicKey("bent");
    // Change a middle symbol (the last one carries padding bits and may decode to the same bytes).
    const bent = { ...k, x: k.x.slice(0, 10) + (k.x[10] === "A" ? "B" : "A") + k.x.slice(11) } as PublicJwk;
    await expect(applyPartnerDocument(t.handle.db, baseDoc("sync-c", [bent]), { mode: "upsert", now: new Date() })).rejects.toMatchObject({
      code: "validation_failed",
    });
  });
});
