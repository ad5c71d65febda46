import { z } from "@hono/zod-openapi";

/** Partner routes: a request signed with one of the partner's registered keys. */
export const security = [{ PartnerSignature: [] }];
/** Staff routes: a request signed with an operator key (OPERATOR_JWKS), carrying the route's role. */
export const staffSecurity = [{ StaffSignature: [] }];

export const IdempotencyHeader = z.object({
  "idempotency-key": z.string().min(1).max(255).openapi({ description: "1–255 printable characters; a retry reuses it." }),
});

export const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });
export const jsonBody = <T extends z.ZodType>(schema: T) => ({ required: true, content: { "application/json": { schema } } });

export const BalanceSchema = z
  .object({ available: z.int(), pending: z.int(), held: z.int() })
  .openapi("Balance", { description: "available is spendable now; pending is earned, not yet released; held is reserved by active holds." });

/** `mbr_…` or `ext:<external_ref>` (URL-encoded in paths). */
export const MemberRefParam = z.object({
  member: z
    .string()
    .min(1)
    .max(140)
    .openapi({ param: { name: "member", in: "path" }, example: "ext:guest-1001", description: "A member id or ext:<your customer reference>." }),
});

export const ExternalRef = z.string().min(1).max(128).openapi({ description: "Your own customer reference (1–128 characters).", example: "guest-1001" });

/** An empty object; an empty body is read as {}. Routes that take no input still refuse fields. */
export const EmptyBody = z.strictObject({}).openapi("Empty", { description: "An empty object; an empty body is read as {}." });
/** A body that may be left out, for routes whose input is all optional. */
export const optionalBody = <T extends z.ZodType>(schema: T) => ({ required: false, content: { "application/json": { schema } } });

/**
 * `?limit=`: 1–200, default 50; out of range is 422, never clamped. Query strings arrive as text,
 * so only digits are read, but the document declares it an integer, as clients send it.
 */
export const LimitQuery = z
  .string()
  .regex(/^[0-9]{1,3}$/, "must be an integer from 1 to 200")
  .transform(Number)
  .pipe(z.int().min(1).max(200))
  .optional()
  .openapi({ type: "integer", minimum: 1, maximum: 200, default: 50, description: "1–200, default 50." });
