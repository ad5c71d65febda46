import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { DomainError, type ErrorCode, type FieldError } from "../errors.js";
import { PROBLEM_CATALOG } from "./problem-catalog.js";
import type { Config } from "../config.js";
import { describeDriverError, isDatabaseUnavailable } from "../db/errors.js";

/** The one place an error code becomes an HTTP status. */
export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  malformed_request: 400,
  missing_token: 401,
  malformed_token: 401,
  unknown_key: 401,
  algorithm_not_allowed: 401,
  signature_invalid: 401,
  token_expired: 401,
  token_not_yet_valid: 401,
  lifetime_too_long: 401,
  issuer_invalid: 401,
  audience_invalid: 401,
  type_invalid: 401,
  replayed_token: 401,
  request_mismatch: 401,
  body_mismatch: 401,
  partner_suspended: 403,
  role_forbidden: 403,
  not_found: 404,
  member_not_found: 404,
  method_not_allowed: 405,
  idempotency_key_reused: 409,
  external_ref_taken: 409,
  already_linked: 409,
  already_exists: 409,
  period_finalized: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  validation_failed: 422,
  idempotency_key_required: 422,
  insufficient_points: 422,
  hold_not_active: 422,
  capture_exceeds_hold: 422,
  reversal_exceeds_original: 422,
  link_code_invalid: 422,
  prepaid_points_exhausted: 422,
  credit_limit_exceeded: 422,
  period_not_closed: 422,
  explicit_points_not_allowed: 422,
  not_prepaid: 422,
  reward_unavailable: 422,
  redemption_limit_reached: 422,
  redemption_not_cancellable: 422,
  voucher_not_usable: 422,
  issuance_limit_reached: 422,
  receive_code_invalid: 422,
  transfer_limit_reached: 422,
  referral_code_invalid: 422,
  activity_limit_reached: 422,
  rate_limited: 429,
  internal_error: 500,
  service_unavailable: 503,
};

/**
 * Where problem `type` URIs point: `/problems/<code>` on this server (a page saying what the code
 * means and what to do). Relative to the public base URL when one is configured; RFC 9457 allows
 * a relative reference otherwise.
 */
export function problemType(code: ErrorCode, base = ""): string {
  return `${base}/problems/${code}`;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  request_id: string;
  errors?: FieldError[];
}

function titleFor(code: ErrorCode): string {
  return PROBLEM_CATALOG[code].title;
}

export function problemBody(code: ErrorCode, detail: string, requestId: string, errors?: FieldError[], base?: string): ProblemBody {
  const body: ProblemBody = {
    type: problemType(code, base),
    title: titleFor(code),
    status: STATUS_BY_CODE[code],
    detail,
    code,
    request_id: requestId,
  };
  if (errors) body.errors = errors;
  return body;
}

/** The absolute base for `type` URIs, when the request got as far as having services. */
export function problemBase(c: Context): string | undefined {
  const services = c.get("services" as never) as { config?: Config } | undefined;
  return services?.config?.publicBaseUrl;
}

export function problemResponse(
  c: Context,
  code: ErrorCode,
  detail: string,
  extra: DomainError["extra"] = {},
): Response {
  const requestId = (c.get("requestId" as never) as string | undefined) ?? "req_unknown";
  const body = problemBody(code, detail, requestId, extra.errors, problemBase(c));
  const headers: Record<string, string> = { "content-type": "application/problem+json", "cache-control": "no-store" };
  if (extra.retryAfterSeconds !== undefined) headers["retry-after"] = String(Math.max(1, Math.ceil(extra.retryAfterSeconds)));
  if (extra.allow) headers["allow"] = extra.allow.join(", ");
  return new Response(JSON.stringify(body), { status: body.status, headers });
}

const HTTP_EXCEPTION_CODES: Record<number, ErrorCode> = {
  400: "malformed_request",
  404: "not_found",
  413: "payload_too_large",
  415: "unsupported_media_type",
};

/**
 * Maps anything thrown below a route to problem+json. Domain errors say what went wrong;
 * everything else is logged here and answered without driver text or stack traces.
 */
export function errorToResponse(err: unknown, c: Context): Response {
  if (err instanceof DomainError) return problemResponse(c, err.code, err.detail, err.extra);
  if (err instanceof HTTPException) {
    const code = HTTP_EXCEPTION_CODES[err.status];
    if (code === "malformed_request") return problemResponse(c, code, "The request body is not valid JSON.");
    if (code === "unsupported_media_type")
      return problemResponse(c, code, "Send request bodies as application/json.");
    if (code) return problemResponse(c, code, err.message || titleFor(code));
  }
  if (isDatabaseUnavailable(err)) {
    console.error(`[${c.get("requestId" as never)}] database unavailable:`, describeDriverError(err));
    return problemResponse(c, "service_unavailable", "The service is temporarily unavailable; retry later.", {
      retryAfterSeconds: 2,
    });
  }
  console.error(`[${c.get("requestId" as never)}] unhandled error:`, err);
  return problemResponse(c, "internal_error", "An unexpected error occurred. It has been logged.");
}
