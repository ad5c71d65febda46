import { and, eq, inArray } from "drizzle-orm";
import { importJWK } from "jose";
import type { Executor } from "../db/database.js";
import { partnerActivityRules, partnerEarnRules, partnerKeys, partners } from "../db/schema/index.js";
import { DomainError, validationFailed } from "../errors.js";
import type { PartnerDocument, PublicJwk } from "./document.js";
import { stableStringify } from "../lib/json.js";

export interface ApplyResult {
  partner_id: string;
  change: "created" | "updated" | "unchanged";
  keys_added: string[];
  keys_revoked: string[];
}

/** Checks each key is a real point on its curve, before anything is written. */
export async function assertUsableKeys(keys: PublicJwk[], pathPrefix = "keys"): Promise<void> {
  for (const [i, jwk] of keys.entries()) {
    try {
      await importJWK(jwk as never, jwk.alg);
    } catch {
      throw validationFailed([{ path: `${pathPrefix}.${i}`, message: "is not a usable public key for its alg" }]);
    }
  }
}

function partnerRow(doc: PartnerDocument) {
  return {
    id: doc.id,
    name: doc.name,
    category: doc.category,
    status: doc.status,
    settlementCurrency: doc.settlement.currency,
    billing: doc.settlement.billing,
    issuePricePerPoint: doc.settlement.issue_price_per_point,
    redemptionPricePerPoint: doc.settlement.redemption_price_per_point,
    settlementPeriod: doc.settlement.period,
    prepaidPoints: doc.settlement.prepaid_points === undefined ? null : BigInt(doc.settlement.prepaid_points),
    creditLimit: doc.settlement.credit_limit ?? null,
    allowExplicitPoints: doc.allow_explicit_points ?? false,
    rateLimitPerMinute: doc.rate_limit_per_minute ?? null,
    dailyPointsLimit: doc.limits?.daily_points ?? null,
    memberDailyPointsLimit: doc.limits?.member_daily_points ?? null,
    webhookUrl: doc.webhook_url ?? null,
    document: doc,
  };
}

/**
 * Makes the database say what a partner document says, in one transaction: terms and earn
 * rules replaced, listed keys added, active keys the document no longer lists revoked
 * (reported, never silent). A revoked `kid` is never brought back: rotate to a new kid.
 */
export async function applyPartnerDocument(
  db: Executor,
  doc: PartnerDocument,
  options: { mode: "create" | "upsert"; now: Date },
): Promise<ApplyResult> {
  await assertUsableKeys(doc.keys);
  return db.transaction(async (tx) => {
    const [existing] = await tx.select().from(partners).where(eq(partners.id, doc.id)).for("update");
    if (existing && options.mode === "create") throw new DomainError("already_exists", `Partner ${doc.id} already exists.`);
    const row = partnerRow(doc);
    let change: ApplyResult["change"] = "created";
    if (!existing) {
      await tx.insert(partners).values(row);
    } else if (stableStringify(existing.document) === stableStringify(doc)) {
      change = "unchanged";
    } else {
      change = "updated";
      // Funding mode changes only through its own operation (POST …/funding), never as a side
      // effect of a document, and the prepaid balance is the ledger's (earns draw it, blocks add to it).
      if ((existing.prepaidPoints === null) !== (row.prepaidPoints === null))
        throw validationFailed([
          {
            path: "settlement.prepaid_points",
            message: `${doc.id} is ${existing.prepaidPoints === null ? "postpaid" : "prepaid"}: switch funding with POST /v1/admin/partners/${doc.id}/funding, not by ${existing.prepaidPoints === null ? "adding" : "leaving out"} prepaid_points`,
          },
        ]);
      await tx.update(partners).set({ ...row, prepaidPoints: existing.prepaidPoints, updatedAt: options.now }).where(eq(partners.id, doc.id));
    }
    if (change !== "unchanged") {
      // Earn rules are configuration, not history: each posting records the rate it used.
      await tx.delete(partnerEarnRules).where(eq(partnerEarnRules.partnerId, doc.id));
      await tx.insert(partnerEarnRules).values(
        doc.earn_rules.map((r) => ({ partnerId: doc.id, currency: r.currency, category: r.category, pointsPerUnit: r.points_per_unit })),
      );
      await tx.delete(partnerActivityRules).where(eq(partnerActivityRules.partnerId, doc.id));
      if (doc.activity_rules?.length)
        await tx.insert(partnerActivityRules).values(
          doc.activity_rules.map((r) => ({
            partnerId: doc.id,
            activity: r.activity,
            points: r.points,
            perMemberDaily: r.per_member_daily ?? null,
            perMemberTotal: r.per_member_total ?? null,
          })),
        );
    }

    const current = await tx.select().from(partnerKeys).where(eq(partnerKeys.partnerId, doc.id));
    const byKid = new Map(current.map((k) => [k.kid, k]));
    const keysAdded: string[] = [];
    for (const [i, jwk] of doc.keys.entries()) {
      const known = byKid.get(jwk.kid);
      if (!known) {
        await tx.insert(partnerKeys).values({ partnerId: doc.id, kid: jwk.kid, alg: jwk.alg, jwk, status: "active" });
        keysAdded.push(jwk.kid);
        continue;
      }
      if (stableStringify(canonicalJwk(known.jwk as PublicJwk)) !== stableStringify(canonicalJwk(jwk)))
        throw validationFailed([{ path: `keys.${i}`, message: `kid ${jwk.kid} is already registered with different key material` }]);
      if (known.status === "revoked")
        throw validationFailed([{ path: `keys.${i}`, message: `kid ${jwk.kid} was revoked and cannot be reinstated; use a new kid` }]);
    }
    const listed = new Set(doc.keys.map((k) => k.kid));
    const toRevoke = current.filter((k) => k.status === "active" && !listed.has(k.kid)).map((k) => k.kid);
    if (toRevoke.length > 0) {
      await tx
        .update(partnerKeys)
        .set({ status: "revoked", revokedAt: options.now })
        .where(and(eq(partnerKeys.partnerId, doc.id), inArray(partnerKeys.kid, toRevoke)));
    }
    if (change === "unchanged" && (keysAdded.length > 0 || toRevoke.length > 0)) change = "updated";
    return { partner_id: doc.id, change, keys_added: keysAdded, keys_revoked: toRevoke };
  });
}

function canonicalJwk(jwk: PublicJwk) {
  return { kty: jwk.kty, crv: jwk.crv, alg: jwk.alg, x: jwk.x, y: "y" in jwk ? jwk.y : undefined };
}
