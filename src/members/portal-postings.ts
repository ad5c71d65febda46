/**
 * Postings a member makes in the portal (redeem, cancel, send points), through the same ledger
 * call as the partner API (`postToLedger`: token spent, key claimed, posted, answer stored).
 *
 * A portal form is not a signed request, so the portal makes the two things `ledger_call` needs:
 * a token context (issuer `portal:<member>`, a fresh jti per POST, no partner and no rate limit)
 * and an idempotency claim (scope `portal:<member>`, key: the one-time nonce the confirmation form
 * carries, fingerprint: what is being confirmed). A double-submitted or replayed form therefore
 * has one effect, and every later submission is answered with the stored outcome.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Config } from "../config.js";
import type { Executor } from "../db/database.js";
import { sha256Hex } from "../lib/encoding.js";
import { randomToken } from "../lib/ids.js";
import { postToLedger, type LedgerOutcome, type Posting } from "../ledger/post.js";

// ---- One-time confirmation nonces -------------------------------------------------------------

const NONCE = /^([A-Za-z0-9_-]{32})\.([A-Za-z0-9_-]{43})$/;
const mac = (sessionToken: string, key: string) => createHmac("sha256", `portal-form-nonce:${sessionToken}`).update(key).digest("base64url");

/** A fresh nonce for one confirmation form: a random key and its MAC under the session. */
export function mintFormNonce(sessionToken: string): string {
  const key = randomToken(24);
  return `${key}.${mac(sessionToken, key)}`;
}

/** The nonce's key when this session minted it, else null (another session's, forged or mangled). */
export function formNonceKey(sessionToken: string, value: unknown): string | null {
  if (typeof value !== "string") return null;
  const m = NONCE.exec(value);
  if (!m) return null;
  const expected = Buffer.from(mac(sessionToken, m[1]!));
  const given = Buffer.from(m[2]!);
  return expected.length === given.length && timingSafeEqual(expected, given) ? m[1]! : null;
}

// ---- Postings ---------------------------------------------------------------------------------

export interface PortalPostingRequest {
  memberId: string;
  /** The nonce key the confirmation form carried. */
  formKey: string;
  requestId: string;
  now: Date;
}

/** What `ledger_spend_token` needs of a portal form: the member's own issuer, a fresh jti, no partner, no rate limit. */
function portalToken(memberId: string, now: Date): Record<string, unknown> {
  return { issuer: `portal:${memberId}`, jti: randomToken(18), jti_expires_at: new Date(now.getTime() + 10 * 60_000).toISOString(), partner_id: null };
}

/** A reference for the posting from the form's nonce: the same confirmation, the same reference. */
export const portalReference = (request: PortalPostingRequest) => `portal-${request.formKey.slice(0, 16)}`;

/**
 * Posts `posting` as partner `partnerId` (the brand the member opened the portal from, or for a
 * cancellation the redemption's own maker). `confirmed` is what the member confirmed: a retried
 * form must confirm the same thing, or it is refused as a reused key.
 */
export async function postInPortal(
  db: Executor,
  config: Config,
  partnerId: string,
  posting: Posting,
  confirmed: Record<string, unknown>,
  request: PortalPostingRequest,
): Promise<LedgerOutcome> {
  return postToLedger(db, config, partnerId, posting, {
    token: portalToken(request.memberId, request.now),
    scope: `portal:${request.memberId}`,
    idempotencyKey: request.formKey,
    fingerprint: await sha256Hex(`portal\n${JSON.stringify({ op: posting.op, ...confirmed })}`),
    requestId: request.requestId,
    now: request.now,
  });
}
