import { sql } from "drizzle-orm";
import { CompactSign } from "jose";
import type { Services } from "../services.js";
import { platformSigner } from "../platform/keys.js";
import { bodyHash } from "../lib/encoding.js";
import { fetchSender, type WebhookSender } from "./send.js";
import { sqlExpr } from "../ledger/sql.js";

export const SIGNATURE_TYPE = "coalition-event+jws";
export const MAX_ATTEMPTS = 20; // about three days with the schedule below
const LEASE_MS = 60_000;
const TIMEOUT_MS = 5_000;

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
  /** How requests leave (tests); else the services' sender (Node: pinned), else fetch. */
  send?: WebhookSender;
  timeoutMs?: number;
  /** How long one run keeps claiming new events (20 s). */
  runBudgetMs?: number;
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

/** The job's bounds: deliveries in flight at once, per partner, and how long one run keeps claiming. */
export const DELIVERY_CONCURRENCY = 32;
export const PER_PARTNER_IN_FLIGHT = 4;
const RUN_BUDGET_MS = 20_000;

/** Claims up to `room` due events, at most PER_PARTNER_IN_FLIGHT per partner counting those in flight. */
async function claimDue(services: Services, now: Date, room: number, inFlight: Map<string, number>): Promise<Claimed[]> {
  const busy = JSON.stringify(Object.fromEntries(inFlight));
  const claimed = (await services.db().execute(sql`
    update events e set status = 'sending', next_attempt_at = ${new Date(now.getTime() + LEASE_MS).toISOString()}::timestamptz
      from (select id from events
             where id in (select id from (select id, row_number() over (partition by partner_id order by next_attempt_at, id) as n,
                                                 coalesce((${busy}::jsonb ->> partner_id)::int, 0) as busy
                                            from events
                                           where status in ('pending', 'sending') and next_attempt_at <= ${now.toISOString()}::timestamptz) ranked
                           where n + busy <= ${PER_PARTNER_IN_FLIGHT})
               and status in ('pending', 'sending') and next_attempt_at <= ${now.toISOString()}::timestamptz
             order by next_attempt_at limit ${room} for update skip locked) due
     where e.id = due.id
    returning e.id, e.partner_id, e.type, e.data, ${sqlExpr.apiTimestamp(sql`e.created_at`)} as created_at, e.attempts,
              (select webhook_url from partners p where p.id = e.partner_id) as webhook_url`)) as unknown as { rows: Claimed[] };
  return claimed.rows;
}

/** Sends one claimed event and records the outcome; true when the receiver took it. */
async function deliverOne(services: Services, event: Claimed, now: Date, send: WebhookSender, options: DeliveryOptions): Promise<boolean> {
  const db = services.db();
  if (!event.webhook_url) {
    await db.execute(sql`update events set status = 'skipped', last_error = 'no webhook_url' where id = ${event.id}`);
    return false;
  }
  let error: string | null = null;
  try {
    const body = eventBody(event);
    const res = await send({
      url: event.webhook_url,
      allowLoopbackHttp: services.config.environment !== "production",
      timeoutMs: options.timeoutMs ?? TIMEOUT_MS,
      headers: {
        "content-type": "application/json",
        "coalition-signature": await signEvent(services, event.partner_id, event.id, body, now),
        "coalition-event-id": event.id,
        "coalition-event-type": event.type,
        "user-agent": "Coalesce-Webhooks/1",
      },
      body,
    });
    if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
  } catch (err) {
    error = err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 300) : "delivery failed";
  }
  options.afterSend?.(event.id);
  if (error === null) {
    await db.execute(sql`update events set status = 'delivered', delivered_at = ${now.toISOString()}::timestamptz, attempts = attempts + 1, last_error = null where id = ${event.id}`);
    return true;
  }
  const attempts = event.attempts + 1;
  const dead = attempts >= MAX_ATTEMPTS;
  await db.execute(sql`
    update events set attempts = ${attempts}, last_error = ${error}, status = ${dead ? "dead" : "pending"},
           next_attempt_at = ${new Date(now.getTime() + retryDelayMs(attempts)).toISOString()}::timestamptz
     where id = ${event.id}`);
  return false;
}

/**
 * Delivers due events at least once, concurrently: up to DELIVERY_CONCURRENCY requests in flight,
 * at most PER_PARTNER_IN_FLIGHT for any one partner, so a slow or failing receiver holds a couple
 * of lanes and never the others. The run keeps claiming while events are due (for up to
 * RUN_BUDGET_MS), so a backlog drains in one run instead of a batch per tick. Each event is
 * claimed with a lease (a crash after sending means the lease lapses and the same event id is sent
 * again), posted with a short timeout, no redirects and a bounded read, then marked delivered,
 * rescheduled with backoff, or dead after MAX_ATTEMPTS. Events are not ordered: receivers dedupe
 * by id and order by created_at if they need to.
 */
export async function deliverDueEvents(services: Services, now: Date, options: DeliveryOptions = {}): Promise<number> {
  const send = options.send ?? services.webhookSender ?? fetchSender;
  const started = Date.now();
  const inFlight = new Map<string, number>();
  const active = new Set<Promise<void>>();
  let delivered = 0;
  let failure: { error: unknown } | null = null;
  const budgetLeft = () => Date.now() - started < (options.runBudgetMs ?? RUN_BUDGET_MS);
  for (;;) {
    let claimed: Claimed[] = [];
    const room = DELIVERY_CONCURRENCY - active.size;
    if (!failure && budgetLeft() && room > 0) {
      try {
        claimed = await claimDue(services, now, room, inFlight);
      } catch (err) {
        failure = { error: err };
      }
    }
    for (const event of claimed) {
      inFlight.set(event.partner_id, (inFlight.get(event.partner_id) ?? 0) + 1);
      const task: Promise<void> = deliverOne(services, event, now, send, options)
        .then((ok) => void (ok && delivered++))
        .catch((err) => void (failure ??= { error: err }))
        .finally(() => {
          active.delete(task);
          const n = inFlight.get(event.partner_id)! - 1;
          if (n === 0) inFlight.delete(event.partner_id);
          else inFlight.set(event.partner_id, n);
        });
      active.add(task);
    }
    if (active.size === 0 && claimed.length === 0) break;
    // A claim that filled every free lane may leave more due: claim again at once. Otherwise
    // nothing more is claimable until a lane (or a partner's share) frees up.
    if (room === 0 || claimed.length < room) await Promise.race(active);
  }
  if (failure) throw failure.error;
  return delivered;
}
