import { z } from "@hono/zod-openapi";

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

const WebhookUrl = z
  .url()
  .max(2048)
  .refine((u) => /^https:\/\//i.test(u) || /^http:\/\/(localhost|127\.[0-9.]+|\[::1\])(:[0-9]+)?(\/|$)/i.test(u), {
    message: "must be https (plain http only to loopback, for local runs)",
  });

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
    keys: z.array(PublicJwk).max(10),
  })
  .superRefine((doc, ctx) => {
    const seenRules = new Set<string>();
    doc.earn_rules.forEach((rule, i) => {
      const key = `${rule.currency}/${rule.category}`;
      if (seenRules.has(key)) ctx.addIssue({ code: "custom", path: ["earn_rules", i], message: `duplicate rule for ${key}` });
      seenRules.add(key);
    });
    const seenKids = new Set<string>();
    doc.keys.forEach((key, i) => {
      if (seenKids.has(key.kid)) ctx.addIssue({ code: "custom", path: ["keys", i, "kid"], message: `duplicate kid ${key.kid}` });
      seenKids.add(key.kid);
    });
  })
  .openapi("PartnerDocument");
export type PartnerDocument = z.infer<typeof PartnerDocument>;
