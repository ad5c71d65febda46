import type { ErrorCode } from "../errors.js";

export interface ProblemInfo {
  title: string;
  /** What the code means, in one sentence. */
  meaning: string;
  /** What the caller should do about it. */
  action: string;
  /** Whether the same request may succeed if sent again unchanged (with the same Idempotency-Key). */
  retry: boolean;
}

const SIGN_AGAIN = "Sign a fresh token for this exact request (see the signing guide) and send it again.";

/**
 * Every problem code: its title, what it means and what to do. One table feeds the problem
 * bodies' titles, the OpenAPI descriptions and the `/problems/<code>` pages that `type` points at.
 */
export const PROBLEM_CATALOG: Record<ErrorCode, ProblemInfo> = {
  malformed_request: {
    title: "Malformed request",
    meaning: "The body is not valid JSON.",
    action: "Send a JSON object encoded as UTF-8, with Content-Type: application/json.",
    retry: false,
  },
  missing_token: {
    title: "Missing token",
    meaning: "The request has no Authorization: Bearer header.",
    action: "Sign every request with one of your registered keys and send the token as Authorization: Bearer <token>.",
    retry: false,
  },
  malformed_token: {
    title: "Malformed token",
    meaning: "The token is not a compact JWS with the required header and claims, carries a forbidden header (jku, x5u, x5c, jwk, crit, zip), is a JWE, or the Authorization header is over 8 KiB.",
    action: "Check the token's protected header (alg, kid, typ) and that every required claim (iss, aud, iat, exp, jti, htm, htu, bsh) is present with the right type.",
    retry: false,
  },
  unknown_key: {
    title: "Unknown key",
    meaning: "The token's kid names no active key of its issuer: never registered, or revoked.",
    action: "Sign with a key that is registered and not revoked; ask the operator to register a new public key if needed.",
    retry: false,
  },
  algorithm_not_allowed: {
    title: "Algorithm not allowed",
    meaning: "The token's alg is not ES256 or EdDSA, or differs from the algorithm registered with the key.",
    action: "Sign with the algorithm the key was registered with (ES256 or EdDSA).",
    retry: false,
  },
  signature_invalid: {
    title: "Signature invalid",
    meaning: "The signature does not verify with the public key registered under the token's kid.",
    action: "Check that the private key matches the kid in the header and that the token was not altered after signing.",
    retry: false,
  },
  token_expired: {
    title: "Token expired",
    meaning: "The token's exp is in the past (60 seconds of clock skew are allowed).",
    action: `Check your clock (NTP). ${SIGN_AGAIN}`,
    retry: false,
  },
  token_not_yet_valid: {
    title: "Token not yet valid",
    meaning: "The token's iat is in the future by more than the 60 seconds of allowed clock skew.",
    action: `Check your clock (NTP). ${SIGN_AGAIN}`,
    retry: false,
  },
  lifetime_too_long: {
    title: "Lifetime too long",
    meaning: "exp − iat is more than 300 seconds.",
    action: "Give tokens a lifetime of at most 300 seconds; one token serves one request.",
    retry: false,
  },
  issuer_invalid: {
    title: "Issuer invalid",
    meaning: "The token's iss names no partner and is not the operator issuer.",
    action: "Set iss to your partner id exactly as the operator registered it.",
    retry: false,
  },
  audience_invalid: {
    title: "Audience invalid",
    meaning: "The token's aud is not this platform's audience.",
    action: "Set aud to the platform audience (coalition-api unless your operator told you otherwise).",
    retry: false,
  },
  type_invalid: {
    title: "Token type invalid",
    meaning: "The token's typ header is not coalition-request+jwt.",
    action: "Set the protected header's typ to coalition-request+jwt.",
    retry: false,
  },
  replayed_token: {
    title: "Replayed token",
    meaning: "This token's jti was already used: every token is good for one request.",
    action: `${SIGN_AGAIN} To retry a request safely, reuse its Idempotency-Key, never its token.`,
    retry: false,
  },
  request_mismatch: {
    title: "Request mismatch",
    meaning: "The token's htm or htu does not match the request's method, or its path and query exactly as sent.",
    action: "Sign the method in upper case and the path plus query string byte for byte as they go on the wire, percent-encoding included.",
    retry: false,
  },
  body_mismatch: {
    title: "Body mismatch",
    meaning: "The token's bsh is not the SHA-256 of the body bytes received.",
    action: "Hash the exact bytes you send (after serialising the JSON, before any retry changes it); for no body, hash the empty string.",
    retry: false,
  },
  partner_suspended: {
    title: "Partner suspended",
    meaning: "Your partner account is suspended; nothing you send is applied.",
    action: "Contact the coalition operator.",
    retry: false,
  },
  role_forbidden: {
    title: "Role forbidden",
    meaning: "The caller may not use this route: a partner token on a staff route, a staff token on a partner route, or a staff role other than the one the route needs.",
    action: "Call the route with the kind of credentials it documents.",
    retry: false,
  },
  not_found: {
    title: "Not found",
    meaning: "No such resource, or one you may not see (both answer the same way).",
    action: "Check the path and the id; ids of other partners' resources are never visible to you.",
    retry: false,
  },
  member_not_found: {
    title: "Member not found",
    meaning: "No member with this reference is linked to you.",
    action: "Check the member id or ext:<your reference>; enrol or link the member first.",
    retry: false,
  },
  method_not_allowed: {
    title: "Method not allowed",
    meaning: "The path exists but does not support this method.",
    action: "Use one of the methods in the Allow header.",
    retry: false,
  },
  idempotency_key_reused: {
    title: "Idempotency key reused",
    meaning: "This Idempotency-Key was already used for a different request (method, path or body).",
    action: "Use a new key for a new request; to retry, send exactly the same request with the same key.",
    retry: false,
  },
  external_ref_taken: {
    title: "External reference taken",
    meaning: "You already use this external reference for another member.",
    action: "Use a different reference, or work with the member it already names.",
    retry: false,
  },
  already_linked: {
    title: "Already linked",
    meaning: "This member is already linked to you under another reference.",
    action: "Use the existing link (GET the member by its id).",
    retry: false,
  },
  already_exists: {
    title: "Already exists",
    meaning: "A resource with this id already exists.",
    action: "Choose another id, or update the existing resource.",
    retry: false,
  },
  period_finalized: {
    title: "Period finalized",
    meaning: "A settlement run for this period is already finalized.",
    action: "Corrections go into a later period as new postings; a finalized period never changes.",
    retry: false,
  },
  payload_too_large: {
    title: "Payload too large",
    meaning: "The body is over 65,536 bytes.",
    action: "Send a smaller body.",
    retry: false,
  },
  unsupported_media_type: {
    title: "Unsupported media type",
    meaning: "The body is not sent as application/json.",
    action: "Send Content-Type: application/json.",
    retry: false,
  },
  validation_failed: {
    title: "Validation failed",
    meaning: "A field is missing, unknown, of the wrong type or out of range; `errors` names each one.",
    action: "Fix the fields listed in `errors` (path and message) and send a new request.",
    retry: false,
  },
  idempotency_key_required: {
    title: "Idempotency key required",
    meaning: "This POST needs an Idempotency-Key header (1–255 printable characters).",
    action: "Send a unique Idempotency-Key with every POST that changes something; reuse it only to retry the same request.",
    retry: false,
  },
  insufficient_points: {
    title: "Insufficient points",
    meaning: "The member's available points (or the unspent points of the earn being reversed) do not cover the request.",
    action: "Ask for fewer points, or check the balance first.",
    retry: false,
  },
  hold_not_active: {
    title: "Hold not active",
    meaning: "The hold was already captured, voided or has expired.",
    action: "Place a new hold if you still need the points.",
    retry: false,
  },
  capture_exceeds_hold: {
    title: "Capture exceeds hold",
    meaning: "The capture asks for more points than the hold reserved.",
    action: "Capture at most the held points; place a new hold or burn for the rest.",
    retry: false,
  },
  reversal_exceeds_original: {
    title: "Reversal exceeds original",
    meaning: "The reversal asks for more points than the transaction has left to reverse.",
    action: "Reverse at most what remains of the original (its points less earlier reversals).",
    retry: false,
  },
  link_code_invalid: {
    title: "Link code invalid",
    meaning: "The link code is unknown, expired or already used.",
    action: "Ask the member for a new code.",
    retry: false,
  },
  prepaid_points_exhausted: {
    title: "Prepaid points exhausted",
    meaning: "Your prepaid block of points does not cover this earn.",
    action: "Buy a new prepaid block from the operator before issuing more points.",
    retry: false,
  },
  credit_limit_exceeded: {
    title: "Credit limit exceeded",
    meaning: "This earn would take your unsettled issuance over your credit limit.",
    action: "Settle with the operator or ask for a higher limit.",
    retry: false,
  },
  period_not_closed: {
    title: "Period not closed",
    meaning: "The settlement period has not ended yet, so it cannot be finalized.",
    action: "Finalize after the period's last day; draft runs can be made at any time.",
    retry: false,
  },
  explicit_points_not_allowed: {
    title: "Explicit points not allowed",
    meaning: "Your contract does not let you send points explicitly on an earn.",
    action: "Leave out points: they are computed from the amount by your earn rules.",
    retry: false,
  },
  not_prepaid: {
    title: "Not prepaid",
    meaning: "The partner is not funded by prepaid blocks.",
    action: "Change the partner's funding to prepaid first.",
    retry: false,
  },
  reward_unavailable: {
    title: "Reward unavailable",
    meaning: "The reward is paused, retired or out of stock.",
    action: "Offer the member another reward; GET /v1/rewards lists what is active, with its stock.",
    retry: false,
  },
  redemption_limit_reached: {
    title: "Redemption limit reached",
    meaning: "The member already has as many units of this reward as one member may (redemptions not cancelled or rejected count).",
    action: "Offer the member another reward.",
    retry: false,
  },
  redemption_not_cancellable: {
    title: "Redemption not in that state",
    meaning: "The redemption's state does not allow this: it is already used, fulfilled, rejected, cancelled or expired (for cancel), or not a requested item or transfer (for fulfil and reject).",
    action: "GET the redemption to see its status and vouchers.",
    retry: false,
  },
  voucher_not_usable: {
    title: "Voucher not usable",
    meaning: "The voucher cannot be used: the same answer whether it is unknown, not yours, already used, cancelled or expired.",
    action: "Do not honour the voucher; ask the member to check it in their portal.",
    retry: false,
  },
  issuance_limit_reached: {
    title: "Issuance limit reached",
    meaning: "This earn or activity would take the points you issued today (UTC), in total or to this member, over your issuance limits.",
    action: "Nothing was posted. Issue again after midnight UTC, or ask the operator about your limits.",
    retry: false,
  },
  receive_code_invalid: {
    title: "Receive code not valid",
    meaning: "The receive code is unknown, has expired (codes last 15 minutes), was already used, or belongs to the sender.",
    action: "Nothing was posted. Ask the recipient for a fresh receive code.",
    retry: false,
  },
  transfer_limit_reached: {
    title: "Transfer limit reached",
    meaning: "This transfer would take the points the member sent today (UTC) over the daily transfer limit.",
    action: "Nothing was posted. Send fewer points (the detail says how many are left today), or send again after midnight UTC.",
    retry: false,
  },
  referral_code_invalid: {
    title: "Referral code not valid",
    meaning: "No active member has this referral code.",
    action: "Nothing was written. Check the code with the referring member, or enrol without one.",
    retry: false,
  },
  activity_limit_reached: {
    title: "Activity limit reached",
    meaning: "The member already received points for this activity as many times as your rule allows, today (UTC) or in total.",
    action: "Nothing was posted. The daily count starts again at midnight UTC; the total never does.",
    retry: false,
  },
  rate_limited: {
    title: "Too many requests",
    meaning: "You sent more requests this minute than your rate limit allows.",
    action: "Wait the number of seconds in Retry-After, then retry with a fresh token (and the same Idempotency-Key).",
    retry: true,
  },
  internal_error: {
    title: "Internal error",
    meaning: "An unexpected error; it has been logged with the request id.",
    action: "Retry later with the same Idempotency-Key; if it persists, report the request_id to the operator.",
    retry: true,
  },
  service_unavailable: {
    title: "Service unavailable",
    meaning: "The service or its database is temporarily unavailable; nothing was applied.",
    action: "Wait the number of seconds in Retry-After, then retry with a fresh token and the same Idempotency-Key.",
    retry: true,
  },
};

export const PROBLEM_CODES = Object.keys(PROBLEM_CATALOG) as ErrorCode[];
