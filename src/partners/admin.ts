import { and, eq } from "drizzle-orm";
import type { Executor } from "../db/database.js";
import { partnerKeys, partners } from "../db/schema/index.js";
import { DomainError, validationFailed } from "../errors.js";
import { fieldErrors } from "../http/validation.js";
import { applyPartnerDocument, assertUsableKeys } from "./apply.js";
import { PartnerDocument, type FundingChange, type PartnerPatch, type PublicJwk } from "./document.js";
import { webhookUrlProblem } from "../events/target.js";

export interface PartnerView extends Omit<PartnerDocument, "keys"> {
  keys: PublicJwk[];
  created_at: string;
  updated_at: string;
}

/** A partner as the admin API shows it: its document, with the keys that are active now. */
export async function getPartner(db: Executor, partnerId: string): Promise<PartnerView> {
  const [row] = await db.select().from(partners).where(eq(partners.id, partnerId));
  if (!row) throw new DomainError("not_found", `No partner ${partnerId}.`);
  const keys = await db
    .select({ jwk: partnerKeys.jwk })
    .from(partnerKeys)
    .where(and(eq(partnerKeys.partnerId, partnerId), eq(partnerKeys.status, "active")))
    .orderBy(partnerKeys.createdAt);
  const doc = row.document as PartnerDocument;
  // The prepaid balance is the ledger's (earns draw it, blocks add to it): show it as it is now.
  const { prepaid_points: _stored, ...terms } = doc.settlement;
  const settlement = row.prepaidPoints === null ? terms : { ...terms, prepaid_points: Number(row.prepaidPoints) };
  return {
    ...doc,
    settlement,
    status: row.status,
    keys: keys.map((k) => k.jwk as PublicJwk),
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/** What the deployment allows: production refuses plain-http webhooks even to loopback. */
export interface PartnerPolicy {
  production: boolean;
}

function assertWebhookAllowed(doc: PartnerDocument, policy: PartnerPolicy): void {
  if (!doc.webhook_url) return;
  const problem = webhookUrlProblem(doc.webhook_url, { allowLoopbackHttp: !policy.production });
  if (problem) throw validationFailed([{ path: "webhook_url", message: problem }]);
}

/** Registers a new partner; an existing id is refused (409), never overwritten. */
export async function createPartner(tx: Executor, doc: PartnerDocument, policy: PartnerPolicy, now: Date): Promise<PartnerView> {
  assertWebhookAllowed(doc, policy);
  await applyPartnerDocument(tx, doc, { mode: "create", now });
  return getPartner(tx, doc.id);
}

/** JSON merge patch (RFC 7396) of one level: named fields replace, null removes, others stay. */
function mergeFields<T extends Record<string, unknown>>(target: T, patch: Record<string, unknown>): T {
  const out: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (value !== undefined) out[key] = value;
  }
  return out as T;
}

/**
 * Changes a partner's terms or status: only what the patch names, `settlement` merged field by
 * field. Funding mode and keys are managed through their own calls, so a price change can never
 * turn a prepaid partner postpaid.
 */
export async function updatePartner(tx: Executor, partnerId: string, patch: PartnerPatch, policy: PartnerPolicy, now: Date): Promise<PartnerView> {
  const current = await getPartner(tx, partnerId);
  const { created_at: _c, updated_at: _u, ...doc } = current;
  const { settlement: settlementPatch, ...fields } = patch;
  const next = mergeFields(doc, fields);
  if (settlementPatch) next.settlement = mergeFields(doc.settlement, settlementPatch);
  const merged = PartnerDocument.safeParse({ ...next, id: partnerId });
  if (!merged.success) throw validationFailed(fieldErrors(merged.error));
  assertWebhookAllowed(merged.data, policy);
  await applyPartnerDocument(tx, merged.data, { mode: "upsert", now });
  return getPartner(tx, partnerId);
}

export interface FundingView extends PartnerView {
  /** Prepaid points given up by a switch to postpaid (0 otherwise). */
  forfeited_prepaid_points: number;
}

/**
 * Switches a partner between prepaid and postpaid, explicitly. To prepaid: the balance starts at
 * 0 and grows only by purchased blocks. To postpaid: the remaining balance is given up, reported
 * in the answer. Asking for the mode the partner already has changes nothing.
 */
export async function changeFunding(tx: Executor, partnerId: string, change: FundingChange, now: Date): Promise<FundingView> {
  const [row] = await tx.select().from(partners).where(eq(partners.id, partnerId)).for("update");
  if (!row) throw new DomainError("not_found", `No partner ${partnerId}.`);
  const prepaidNow = row.prepaidPoints !== null;
  let forfeited = 0;
  if (change.mode === "prepaid" && !prepaidNow) {
    const document = { ...(row.document as PartnerDocument) };
    document.settlement = { ...document.settlement, prepaid_points: 0 };
    await tx.update(partners).set({ prepaidPoints: 0n, document, updatedAt: now }).where(eq(partners.id, partnerId));
  } else if (change.mode === "postpaid" && prepaidNow) {
    forfeited = Number(row.prepaidPoints);
    const document = { ...(row.document as PartnerDocument) };
    const { prepaid_points: _dropped, ...settlement } = document.settlement;
    document.settlement = settlement;
    await tx.update(partners).set({ prepaidPoints: null, document, updatedAt: now }).where(eq(partners.id, partnerId));
  }
  return { ...(await getPartner(tx, partnerId)), forfeited_prepaid_points: forfeited };
}

export interface KeyView {
  partner_id: string;
  kid: string;
  alg: string;
  status: "active" | "revoked";
  jwk: PublicJwk;
  created_at: string;
}

/** Adds a public key for rotation; a kid is never reused, even after revocation. */
export async function addPartnerKey(tx: Executor, partnerId: string, jwk: PublicJwk, now: Date): Promise<KeyView> {
  await assertUsableKeys([jwk], "jwk");
  const [partner] = await tx.select({ id: partners.id }).from(partners).where(eq(partners.id, partnerId)).for("update");
  if (!partner) throw new DomainError("not_found", `No partner ${partnerId}.`);
  const inserted = await tx
    .insert(partnerKeys)
    .values({ partnerId, kid: jwk.kid, alg: jwk.alg, jwk, status: "active", createdAt: now })
    .onConflictDoNothing()
    .returning();
  const row = inserted[0];
  if (!row) throw new DomainError("already_exists", `Key ${jwk.kid} is already registered for ${partnerId}; rotate to a new kid.`);
  await syncDocumentKeys(tx, partnerId, now);
  return { partner_id: partnerId, kid: row.kid, alg: row.alg, status: row.status, jwk, created_at: row.createdAt.toISOString() };
}

/** Revokes a key: from the next request on, on every process, it no longer verifies. Repeating it is harmless. */
export async function revokePartnerKey(tx: Executor, partnerId: string, kid: string, now: Date): Promise<void> {
  const [key] = await tx
    .select()
    .from(partnerKeys)
    .where(and(eq(partnerKeys.partnerId, partnerId), eq(partnerKeys.kid, kid)))
    .for("update");
  if (!key) throw new DomainError("not_found", `No key ${kid} for partner ${partnerId}.`);
  if (key.status === "revoked") return;
  await tx
    .update(partnerKeys)
    .set({ status: "revoked", revokedAt: now })
    .where(and(eq(partnerKeys.partnerId, partnerId), eq(partnerKeys.kid, kid)));
  await syncDocumentKeys(tx, partnerId, now);
}

/** Keeps the stored document's key list equal to the active keys, so a later sync or PATCH sees them. */
async function syncDocumentKeys(tx: Executor, partnerId: string, now: Date): Promise<void> {
  const [row] = await tx.select({ document: partners.document }).from(partners).where(eq(partners.id, partnerId));
  const active = await tx
    .select({ jwk: partnerKeys.jwk })
    .from(partnerKeys)
    .where(and(eq(partnerKeys.partnerId, partnerId), eq(partnerKeys.status, "active")))
    .orderBy(partnerKeys.createdAt);
  const document = { ...(row!.document as PartnerDocument), keys: active.map((k) => k.jwk as PublicJwk) };
  await tx.update(partners).set({ document, updatedAt: now }).where(eq(partners.id, partnerId));
}
