import { sql } from "drizzle-orm";
import { CompactSign } from "jose";
import type { Services } from "../services.js";
import { platformSigner } from "../platform/keys.js";
import { bodyHash } from "../lib/encoding.js";
import { checkWebhookTarget } from "./target.js";

export const SIGNATURE_TYPE = "coalition-event+jws";
export const MAX_ATTEMPTS = 20; // about three days with the schedule below
const BATCH = 50;
const LEASE_MS = 60_000;
const TIMEOUT_MS = 5_000;
const MAX_RESPONSE_BYTES = 1_024;

/** Exponential backoff from 30 s, capped at 6 h, with ±20 % jitter: 20 attempts span about 3 days. */
export function retryDelayMs(attempt: number, random = Math.random()): number {
  const base = Math.min(30_000 * 2 ** Math.max(0, attempt - 1), 6 * 3_600_000);
  return Math.round(base * (0.8 + 0.4 * random));
}

interface Claimed {
  id: string;
  partner_id: string;
  type: string;
  data: unknown;
  created_at: string;
  attempts: number;
  webhook_url: string | null;
}

export interface DeliveryOptions {
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** Test hook: runs after a request was sent and before its outcome is recorded. */
  afterSend?: (eventId: string) => void;
}

/** The body partners receive. */
export function eventBody(e: Pick<Claimed, "id" | "type" | "partner_id" | "created_at" | "data">): string {
  return JSON.stringify({ id: e.id, type: e.type, partner_id: e.partner_id, created_at: e.created_at, data: e.data });
}

/** `Coalition-Signature`: a compact JWS by the platform key with iss, aud (the partner), jti (the event id), iat, exp and bsh. */
export async function signEvent(services: Services, partnerId: string, eventId: string, body: string, now: Date): Promise<string> {
  const { key, kid, alg } = await platformSigner(services.config);
  const iat = Math.floor(now.getTime() / 1000);
  const claims = { iss: services.config.apiAudience, aud: partnerId, jti: eventId, iat, exp: iat + 300, bsh: await bodyHash(body) };
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims))).setProtectedHeader({ alg, kid, typ: SIGNATURE_TYPE }).sign(key);
}

async function readLimited(res: Response): Promise<void> {
  // Never read more than a small prefix of what a receiver sends back.
  const reader = res.body?.getReader();
  if (!reader) return;
  let read = 0;
  try {
    while (read < MAX_RESPONSE_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      read += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * Delivers due events at least once. Each is claimed with a lease (a crash after sending means the
 * lease lapses and the same event id is sent again), posted with a short timeout, no redirects
 * and a bounded read, then marked delivered, rescheduled with backoff, or dead after MAX_ATTEMPTS.
 * Events are not ordered: receivers dedupe by id and order by created_at if they need to.
 */
export async function deliverDueEvents(services: Services, now: Date, options: DeliveryOptions = {}): Promise<number> {
  const db = services.db();
  const claimed = (await db.execute(sql`
    update events e set status = 'sending', next_attempt_at = ${new Date(now.getTime() + LEASE_MS).toISOString()}::timestamptz
      from (select id from events where status in ('pending', 'sending') and next_attempt_at <= ${now.toISOString()}::timestamptz
             order by next_attempt_at limit ${BATCH} for update skip locked) due
     where e.id = due.id
    returning e.id, e.partner_id, e.type, e.data, ledger_ts(e.created_at) as created_at, e.attempts,
              (select webhook_url from partners p where p.id = e.partner_id) as webhook_url`)) as unknown as { rows: Claimed[] };

  const doFetch = options.fetch ?? fetch;
  let delivered = 0;
  for (const event of claimed.rows) {
    if (!event.webhook_url) {
      await db.execute(sql`update events set status = 'skipped', last_error = 'no webhook_url' where id = ${event.id}`);
      continue;
    }
    let error: string | null = null;
    try {
      const url = await checkWebhookTarget(event.webhook_url, {
        allowLoopbackHttp: services.config.environment !== "production",
        resolveHost: services.resolveHost,
      });
      const body = eventBody(event);
      const res = await doFetch(url.toString(), {
        method: "POST",
        redirect: "manual",
        signal: AbortSignal.timeout(options.timeoutMs ?? TIMEOUT_MS),
        headers: {
          "content-type": "application/json",
          "coalition-signature": await signEvent(services, event.partner_id, event.id, body, now),
          "coalition-event-id": event.id,
          "coalition-event-type": event.type,
          "user-agent": "Coalesce-Webhooks/1",
        },
        body,
      });
      await readLimited(res);
      if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
    } catch (err) {
      error = err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 300) : "delivery failed";
    }
    options.afterSend?.(event.id);
    if (error === null) {
      delivered++;
      await db.execute(sql`update events set status = 'delivered', delivered_at = ${now.toISOString()}::timestamptz, attempts = attempts + 1, last_error = null where id = ${event.id}`);
    } else {
      const attempts = event.attempts + 1;
      const dead = attempts >= MAX_ATTEMPTS;
      await db.execute(sql`
        update events set attempts = ${attempts}, last_error = ${error}, status = ${dead ? "dead" : "pending"},
               next_attempt_at = ${new Date(now.getTime() + retryDelayMs(attempts)).toISOString()}::timestamptz
         where id = ${event.id}`);
    }
  }
  return delivered;
}
