/**
 * Typed refusals raised by domain verbs. Verbs never know about HTTP: the status each code
 * maps to lives in one table in `src/http/problem.ts`.
 */
export type ErrorCode =
  // 400
  | "malformed_request"
  // 401
  | "missing_token"
  | "malformed_token"
  | "unknown_key"
  | "algorithm_not_allowed"
  | "signature_invalid"
  | "token_expired"
  | "token_not_yet_valid"
  | "lifetime_too_long"
  | "issuer_invalid"
  | "audience_invalid"
  | "type_invalid"
  | "replayed_token"
  | "request_mismatch"
  | "body_mismatch"
  // 403
  | "partner_suspended"
  | "role_forbidden"
  // 404
  | "not_found"
  | "member_not_found"
  // 405, 409, 413, 415
  | "method_not_allowed"
  | "idempotency_key_reused"
  | "external_ref_taken"
  | "already_linked"
  | "already_exists"
  | "period_finalized"
  | "payload_too_large"
  | "unsupported_media_type"
  // 422
  | "validation_failed"
  | "idempotency_key_required"
  | "insufficient_points"
  | "hold_not_active"
  | "capture_exceeds_hold"
  | "reversal_exceeds_original"
  | "link_code_invalid"
  | "prepaid_points_exhausted"
  | "credit_limit_exceeded"
  | "period_not_closed"
  | "explicit_points_not_allowed"
  | "not_prepaid"
  | "reward_unavailable"
  | "redemption_limit_reached"
  | "redemption_not_cancellable"
  | "voucher_not_usable"
  | "issuance_limit_reached"
  | "receive_code_invalid"
  | "transfer_limit_reached"
  | "referral_code_invalid"
  | "activity_limit_reached"
  // 429, 5xx
  | "rate_limited"
  | "internal_error"
  | "service_unavailable";

export interface FieldError {
  path: string;
  message: string;
}

export class DomainError extends Error {
  override name = "DomainError";
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly extra: { errors?: FieldError[]; retryAfterSeconds?: number; allow?: string[] } = {},
  ) {
    super(`${code}: ${detail}`);
  }
}

/** Shorthand for 422 validation_failed naming the offending fields. */
export function validationFailed(errors: FieldError[], detail = "The request is not valid."): DomainError {
  return new DomainError("validation_failed", detail, { errors });
}
