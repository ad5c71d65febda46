import { z } from "@hono/zod-openapi";
import { webhookUrlProblem } from "../events/target.js";

/** A decimal string with up to 14 integer digits and 6 decimals (`"10"`, `"0.5"`, `"0.008"`). */
export const DecimalString = z
  .string()
  .max(21)
  .regex(/^(0|[1-9][0-9]{0,13})(\.[0-9]{1,6})?$/, "must be a non-negative decimal string with at most 6 decimals, e.g. \"0.008\"");

export const PartnerId = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be a slug: lower-case letters, digits and dashes");

export const CurrencyCode = z.string().length(3).regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as \"EUR\"");

const Kid = z.string().min(1).max(128).regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces");
const Base64Url = (len: number) => z.string().length(len).regex(/^[A-Za-z0-9_-]+$/, "must be base64url");
// `ext` and `key_ops` are what WebCrypto's exportKey("jwk") adds; accepted so such keys register as exported.
const jwkCommon = { kid: Kid, use: z.literal("sig").optional(), key_ops: z.array(z.literal("verify")).max(1).optional(), ext: z.boolean().optional() };

/** A partner's public signing key. Only ES256 (P-256) and EdDSA (Ed25519) are accepted. */
export const PublicJwk = z
  .unknown()
  .superRefine((value, ctx) => {
    // Say plainly when someone sends private key material, instead of "unknown field d".
    if (value && typeof value === "object" && "d" in value)
      ctx.addIssue({ code: "custom", message: "private key material (d) must never be sent; send the public JWK only" });
  })
  .pipe(
    z.discriminatedUnion("kty", [
      z.strictObject({ kty: z.literal("EC"), crv: z.literal("P-256"), alg: z.literal("ES256"), x: Base64Url(43), y: Base64Url(43), ...jwkCommon }),
      z.strictObject({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), alg: z.literal("EdDSA"), x: Base64Url(43), ...jwkCommon }),
    ]),
  )
  .openapi("PublicJwk", {
    description: "A public JWK with `kid` and `alg` (ES256 on P-256, or EdDSA on Ed25519).",
    example: { kty: "EC", crv: "P-256", alg: "ES256", kid: "aurora-2026-01", x: "…", y: "…" },
  });
export type PublicJwk = z.infer<typeof PublicJwk>;

const Category = z.string().min(1).max(64).regex(/^[a-z0-9_*-]+$/, "must be lower-case letters, digits, _ or -");

export const EarnRule = z.strictObject({
  currency: CurrencyCode,
  category: z.union([z.literal("*"), Category]),
  points_per_unit: DecimalString,
});

export const Settlement = z.strictObject({
  currency: CurrencyCode,
  billing: z.enum(["issuance", "redemption"]),
  issue_price_per_point: DecimalString,
  redemption_price_per_point: DecimalString,
  period: z.enum(["daily", "weekly", "monthly"]),
  prepaid_points: z.int().min(0).max(1_000_000_000_000).optional(),
  credit_limit: DecimalString.optional(),
});

/**
 * https, no credentials, never an internal address in any spelling (checked without DNS here;
 * delivery checks what a name resolves to). Plain http to loopback passes here for local runs;
 * production refuses it where the environment is known (`assertWebhookAllowed`).
 */
export const WebhookUrl = z
  .string()
  .max(2048)
  .superRefine((u, ctx) => {
    const problem = webhookUrlProblem(u, { allowLoopbackHttp: true });
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

/** An activity a partner pays points for: `review`, `social_post`, `survey`, `app_signup`… */
export const ActivityName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, "must be lower-case letters, digits, _ or -")
  .openapi({ example: "review" });

/** Points for an activity other than a purchase, with optional caps per member (per UTC day, and in total). */
export const ActivityRule = z
  .strictObject({
    activity: ActivityName,
    points: z.int().min(1).max(1_000_000_000),
    per_member_daily: z.int().min(1).max(1_000_000).optional(),
    per_member_total: z.int().min(1).max(1_000_000).optional(),
  })
  .openapi("ActivityRule");

/** Caps on the points a partner issues per UTC day, in total and to one member (earns, base and bonus, and activities). */
export const IssuanceLimits = z
  .strictObject({
    daily_points: z.int().min(1).max(1_000_000_000_000).optional(),
    member_daily_points: z.int().min(1).max(1_000_000_000_000).optional(),
  })
  .openapi("IssuanceLimits", { description: "Over either cap an earn is refused with 422 issuance_limit_reached and nothing is posted." });

/** A partner document: one file in `partners/`, or the body of `POST /v1/admin/partners`. */
export const PartnerDocument = z
  .strictObject({
    id: PartnerId,
    name: z.string().min(1).max(200),
    category: Category.refine((c) => c !== "*", "must name a category"),
    status: z.enum(["active", "suspended"]).default("active"),
    settlement: Settlement,
    earn_rules: z.array(EarnRule).min(1).max(100),
    allow_explicit_points: z.boolean().optional(),
    rate_limit_per_minute: z.int().min(1).max(1_000_000).optional(),
    webhook_url: WebhookUrl.optional(),
    activity_rules: z.array(ActivityRule).max(100).optional(),
    limits: IssuanceLimits.optional(),
    keys: z.array(PublicJwk).max(10),
  })
  .superRefine((doc, ctx) => {
    const seenRules = new Set<string>();
    doc.earn_rules.forEach((rule, i) => {
      const key = `${rule.currency}/${rule.category}`;
      if (seenRules.has(key)) ctx.addIssue({ code: "custom", path: ["earn_rules", i], message: `duplicate rule for ${key}` });
      seenRules.add(key);
    });
    const seenActivities = new Set<string>();
    (doc.activity_rules ?? []).forEach((rule, i) => {
      if (seenActivities.has(rule.activity)) ctx.addIssue({ code: "custom", path: ["activity_rules", i, "activity"], message: `duplicate rule for ${rule.activity}` });
      seenActivities.add(rule.activity);
    });
    const seenKids = new Set<string>();
    doc.keys.forEach((key, i) => {
      if (seenKids.has(key.kid)) ctx.addIssue({ code: "custom", path: ["keys", i, "kid"], message: `duplicate kid ${key.kid}` });
      seenKids.add(key.kid);
    });
  })
  .openapi("PartnerDocument");
export type PartnerDocument = z.infer<typeof PartnerDocument>;

const FUNDING_HINT =
  "a PATCH never switches between prepaid and postpaid: use POST /v1/admin/partners/{partner_id}/funding; buy prepaid points with POST /v1/admin/partners/{partner_id}/prepaid-blocks";

/**
 * A change to a partner's terms with JSON merge semantics: only the fields named change, nested
 * `settlement` fields included; `null` removes an optional field. `prepaid_points` is refused
 * here: funding mode and prepaid balance each have their own explicit operation.
 */
export const PartnerPatch = z
  .strictObject({
    status: z.enum(["active", "suspended"]).optional(),
    name: z.string().min(1).max(200).optional(),
    category: Category.refine((c) => c !== "*", "must name a category").optional(),
    settlement: z
      .strictObject({
        currency: CurrencyCode.optional(),
        billing: z.enum(["issuance", "redemption"]).optional(),
        issue_price_per_point: DecimalString.optional(),
        redemption_price_per_point: DecimalString.optional(),
        period: z.enum(["daily", "weekly", "monthly"]).optional(),
        credit_limit: DecimalString.nullable().optional(),
        prepaid_points: z
          .unknown()
          .refine(() => false, FUNDING_HINT)
          .optional()
          .openapi({ description: "Not accepted here: " + FUNDING_HINT }),
      })
      .optional(),
    earn_rules: z.array(EarnRule).min(1).max(100).optional(),
    allow_explicit_points: z.boolean().nullable().optional(),
    rate_limit_per_minute: z.int().min(1).max(1_000_000).nullable().optional(),
    webhook_url: WebhookUrl.nullable().optional(),
    activity_rules: z.array(ActivityRule).max(100).nullable().optional().openapi({ description: "Replaces the activity rules as a whole; null removes them." }),
    limits: IssuanceLimits.nullable().optional().openapi({ description: "Replaces the limits as a whole; null removes them." }),
  })
  .refine((p) => Object.keys(p).length > 0, "send at least one field to change")
  .openapi("PartnerPatch");
export type PartnerPatch = z.infer<typeof PartnerPatch>;

/** `POST /v1/admin/partners/{partner_id}/funding`: the one way to switch funding mode. */
export const FundingChange = z
  .strictObject({ mode: z.enum(["prepaid", "postpaid"]) })
  .openapi("FundingChange", {
    description:
      "prepaid: earns draw a prepaid balance that starts at 0 and grows only by purchased blocks; postpaid: earns are billed on statements (within any credit_limit). A remaining prepaid balance is given up on the switch to postpaid and reported.",
  });
export type FundingChange = z.infer<typeof FundingChange>;
