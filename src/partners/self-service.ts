/**
 * What a partner manages for itself (`/v1/keys`, `/v1/webhook`): its own keys under the rotation
 * rules, its webhook URL under the same rules as the admin API, a test ping, and the deliveries of
 * its events. Every verb takes the calling partner's id: nothing here can name another partner.
 */
import { and, count, desc, eq, sql } from "drizzle-orm";
import type { Executor } from "../db/database.js";
import { events, partnerKeys, partners } from "../db/schema/index.js";
import { validationFailed } from "../errors.js";
import { emitEvent } from "../events/emit.js";
import { decodeCursor, encodeCursor } from "../ledger/queries.js";
import { addPartnerKey, revokePartnerKey, updatePartner, type PartnerPolicy } from "./admin.js";
import type { PublicJwk } from "./document.js";

/** At most this many active keys per partner: enough to rotate, few enough to keep track of. */
export const MAX_ACTIVE_KEYS = 10;

export interface OwnKey {
  kid: string;
  alg: "ES256" | "EdDSA";
  status: "active" | "revoked";
  created_at: string;
  revoked_at: string | null;
}

/** The partner's keys, active and revoked, public parts only (the public JWK is not repeated). */
export async function listOwnKeys(db: Executor, partnerId: string): Promise<{ data: OwnKey[] }> {
  const rows = await db.select().from(partnerKeys).where(eq(partnerKeys.partnerId, partnerId)).orderBy(partnerKeys.createdAt, partnerKeys.kid);
  return {
    data: rows.map((k) => ({ kid: k.kid, alg: k.alg, status: k.status, created_at: k.createdAt.toISOString(), revoked_at: k.revokedAt?.toISOString() ?? null })),
  };
}

/** Registers a new public key of the partner's own (rotation): at most MAX_ACTIVE_KEYS active, a kid never reused. */
export async function addOwnKey(tx: Executor, partnerId: string, jwk: PublicJwk, now: Date): Promise<OwnKey> {
  // The partner row first, as addPartnerKey takes it: concurrent additions count each other.
  await tx.select({ id: partners.id }).from(partners).where(eq(partners.id, partnerId)).for("update");
  const [active] = await tx.select({ n: count() }).from(partnerKeys).where(and(eq(partnerKeys.partnerId, partnerId), eq(partnerKeys.status, "active")));
  if ((active?.n ?? 0) >= MAX_ACTIVE_KEYS)
    throw validationFailed([{ path: "jwk", message: `you have ${MAX_ACTIVE_KEYS} active keys; revoke one before adding another` }], `At most ${MAX_ACTIVE_KEYS} keys may be active at once.`);
  const key = await addPartnerKey(tx, partnerId, jwk, now);
  return { kid: key.kid, alg: key.alg as OwnKey["alg"], status: key.status, created_at: key.created_at, revoked_at: null };
}

/** Revokes one of the partner's own keys, at once; never the key that signed the request asking for it. */
export async function revokeOwnKey(tx: Executor, partnerId: string, kid: string, signingKid: string, now: Date): Promise<void> {
  if (kid === signingKid)
    throw validationFailed(
      [{ path: "kid", message: "is the key that signed this request" }],
      "A key cannot revoke itself: sign this request with another active key of yours (add one first with POST /v1/keys).",
    );
  await revokePartnerKey(tx, partnerId, kid, now);
}

/** Sets or clears the partner's webhook URL, under the same rules as `webhook_url` in its document. */
export async function setOwnWebhook(tx: Executor, partnerId: string, url: string | null, policy: PartnerPolicy, now: Date): Promise<{ url: string | null }> {
  const view = await updatePartner(tx, partnerId, { webhook_url: url }, policy, now);
  return { url: view.webhook_url ?? null };
}

/** Queues a `ping` to the partner's webhook URL (delivered, signed and retried like any event). */
export async function queuePing(tx: Executor, partnerId: string, now: Date): Promise<{ event_id: string; type: "ping"; status: "pending" }> {
  const [row] = await tx.select({ url: partners.webhookUrl }).from(partners).where(eq(partners.id, partnerId));
  if (!row?.url) throw validationFailed([{ path: "url", message: "no webhook URL is set; set one with PUT /v1/webhook" }], "There is no webhook URL to ping.");
  const eventId = await emitEvent(tx, partnerId, "ping", { message: "A test event from Coalesce: your webhook URL receives and verifies events.", sent_at: now.toISOString() }, now);
  return { event_id: eventId, type: "ping", status: "pending" };
}

export type DeliveryStatus = "pending" | "sending" | "delivered" | "dead" | "skipped";

export interface Delivery {
  event_id: string;
  type: string;
  status: DeliveryStatus;
  attempts: number;
  last_error: string | null;
  created_at: string;
  next_attempt_at: string | null;
  delivered_at: string | null;
}

const EVENT_ID = /^evt_[0-9a-f]{32}$/;

/** The partner's events, newest first, with how their delivery stands; keyset-paginated. */
export async function listDeliveries(
  db: Executor,
  partnerId: string,
  options: { status?: DeliveryStatus; limit: number; cursor?: string },
): Promise<{ data: Delivery[]; next_cursor: string | null }> {
  const after = options.cursor ? decodeCursor(options.cursor, EVENT_ID) : undefined;
  const rows = await db
    .select()
    .from(events)
    .where(
      and(
        eq(events.partnerId, partnerId),
        options.status ? eq(events.status, options.status) : undefined,
        after ? sql`(${events.createdAt}, ${events.id}) < (${after[0]}::timestamptz, ${after[1]})` : undefined,
      ),
    )
    .orderBy(desc(events.createdAt), desc(events.id))
    .limit(options.limit + 1);
  const page = rows.slice(0, options.limit);
  const last = page.at(-1);
  return {
    data: page.map((e) => ({
      event_id: e.id,
      type: e.type,
      status: e.status,
      attempts: e.attempts,
      last_error: e.lastError,
      created_at: e.createdAt.toISOString(),
      next_attempt_at: e.status === "pending" || e.status === "sending" ? e.nextAttemptAt.toISOString() : null,
      delivered_at: e.deliveredAt?.toISOString() ?? null,
    })),
    next_cursor: rows.length > options.limit && last ? encodeCursor(last.createdAt.toISOString(), last.id) : null,
  };
}

