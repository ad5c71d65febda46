import { and, eq } from "drizzle-orm";
import type { Executor } from "../db/database.js";
import { partnerKeys, partners } from "../db/schema/index.js";
import { DomainError, validationFailed } from "../errors.js";
import { fieldErrors } from "../http/validation.js";
import { applyPartnerDocument, assertUsableKeys } from "./apply.js";
import { PartnerDocument, type PublicJwk } from "./document.js";

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
  return {
    ...doc,
    status: row.status,
    keys: keys.map((k) => k.jwk as PublicJwk),
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/** Registers a new partner; an existing id is refused (409), never overwritten. */
export async function createPartner(tx: Executor, doc: PartnerDocument, now: Date): Promise<PartnerView> {
  await applyPartnerDocument(tx, doc, { mode: "create", now });
  return getPartner(tx, doc.id);
}

export type PartnerPatch = Partial<Omit<PartnerDocument, "id" | "keys">>;

/** Changes a partner's terms or status. Keys are managed through their own calls. */
export async function updatePartner(tx: Executor, partnerId: string, patch: PartnerPatch, now: Date): Promise<PartnerView> {
  const current = await getPartner(tx, partnerId);
  const { created_at: _c, updated_at: _u, ...doc } = current;
  const merged = PartnerDocument.safeParse({ ...doc, ...patch, id: partnerId });
  if (!merged.success) throw validationFailed(fieldErrors(merged.error));
  await applyPartnerDocument(tx, merged.data, { mode: "upsert", now });
  return getPartner(tx, partnerId);
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
