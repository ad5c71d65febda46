import { z } from "zod";

/**
 * Runtime configuration, read once at an entry (Worker env or process.env) and passed down.
 * Nothing below the entries reads the environment: verbs get what they need from here.
 */
export interface Config {
  /** `aud` every request token must carry. */
  apiAudience: string;
  /** `iss` of staff tokens (admin, finance). */
  operatorIssuer: string;
  /** Public keys of staff, as a JWKS document; null means no staff can sign in. */
  operatorJwks: { keys: Record<string, unknown>[] } | null;
  /** The platform's signing keys (private JWKs). The first signs; all are published. */
  platformSigningKeys: Record<string, unknown>[];
  /** Postgres connection string; absent on Node means embedded PGlite. */
  databaseUrl: string | undefined;
  /** Local development / tests only: a ws:// proxy the Neon driver tunnels through. */
  neonWsProxy: string | undefined;
  /**
   * Base URL of links we hand out (portal and sign-in links), without a trailing slash. Required
   * in production; elsewhere the Node server fills in its own address. Never taken from a request.
   */
  publicBaseUrl: string | undefined;
  /** Points expire this many months after they were earned. */
  expiryMonths: number;
  /** When set, all of a member's points expire after this many months without activity. */
  inactivityExpiryMonths: number | undefined;
  /** The most points one member may send to others per UTC day. */
  memberTransferDailyPoints: number;
  /** Points each side of a referral receives when the referred member's first earn is posted. */
  referralBonusPoints: number;
  /** At most this many referrer bonuses per referrer in any rolling 12 months. */
  referralMaxPerYear: number;
  /** Deployment environment name; "production" refuses development-only switches. */
  environment: "production" | "development" | "test";
}

const jsonDoc = <T extends z.ZodTypeAny>(schema: T, name: string) =>
  z
    .string()
    .max(256 * 1024, `${name} is larger than 256 KiB`)
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: "custom", message: `${name} is not valid JSON` });
        return z.NEVER;
      }
    })
    .pipe(schema);

const jwkObject = z.looseObject({ kty: z.string().max(16) });
const jwksDocument = z.object({ keys: z.array(jwkObject).max(50) });

const EnvSchema = z.object({
  API_AUDIENCE: z.string().min(1).max(255).default("coalition-api"),
  OPERATOR_ISSUER: z.string().min(1).max(255).default("operator"),
  OPERATOR_JWKS: jsonDoc(jwksDocument, "OPERATOR_JWKS").optional(),
  // One private JWK, a JSON array of them, or a JWKS document: several allow rotation.
  PLATFORM_SIGNING_KEY: jsonDoc(
    z.union([jwkObject.transform((k) => [k]), z.array(jwkObject).min(1).max(10), jwksDocument.transform((d) => d.keys)]),
    "PLATFORM_SIGNING_KEY",
  ).optional(),
  DATABASE_URL: z.string().min(1).max(4096).optional(),
  NEON_WS_PROXY: z.string().min(1).max(1024).optional(),
  PUBLIC_BASE_URL: z.url().max(1024).optional(),
  ENVIRONMENT: z.enum(["production", "development", "test"]).default("production"),
  POINTS_EXPIRY_MONTHS: z.coerce.number().int().min(1).max(120).default(24),
  POINTS_INACTIVITY_EXPIRY_MONTHS: z.coerce.number().int().min(1).max(120).optional(),
  MEMBER_TRANSFER_DAILY_POINTS: z.coerce.number().int().min(1).max(1_000_000_000).default(20_000),
  REFERRAL_BONUS_POINTS: z.coerce.number().int().min(1).max(1_000_000).default(500),
  REFERRAL_MAX_PER_YEAR: z.coerce.number().int().min(0).max(10_000).default(20),
});

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Validates an environment map (Worker `env` or `process.env`); throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, unknown>): Config {
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(EnvSchema.shape)) {
    const value = env[key];
    // Empty strings are how shells and wrangler spell "unset"; a Worker var written as a TOML
    // number arrives as a number.
    if (typeof value === "string" && value !== "") picked[key] = value;
    else if (typeof value === "number" && Number.isFinite(value)) picked[key] = String(value);
  }
  const parsed = EnvSchema.safeParse(picked);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join(".") || "env"}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join("\n  ")}`);
  }
  const e = parsed.data;
  if (e.ENVIRONMENT === "production" && !e.PUBLIC_BASE_URL)
    throw new ConfigError(
      "invalid configuration:\n  PUBLIC_BASE_URL: required in production (links handed out to members and staff are built from it, never from request headers)",
    );
  return {
    apiAudience: e.API_AUDIENCE,
    operatorIssuer: e.OPERATOR_ISSUER,
    operatorJwks: e.OPERATOR_JWKS ?? null,
    platformSigningKeys: e.PLATFORM_SIGNING_KEY ?? [],
    databaseUrl: e.DATABASE_URL,
    neonWsProxy: e.NEON_WS_PROXY,
    publicBaseUrl: e.PUBLIC_BASE_URL?.replace(/\/+$/, ""),
    environment: e.ENVIRONMENT,
    expiryMonths: e.POINTS_EXPIRY_MONTHS,
    inactivityExpiryMonths: e.POINTS_INACTIVITY_EXPIRY_MONTHS,
    memberTransferDailyPoints: e.MEMBER_TRANSFER_DAILY_POINTS,
    referralBonusPoints: e.REFERRAL_BONUS_POINTS,
    referralMaxPerYear: e.REFERRAL_MAX_PER_YEAR,
  };
}

/** Where a local run answers when nothing says otherwise (`npm start`, `wrangler dev`). */
export const LOCAL_BASE_URL = "http://127.0.0.1:8787";

/** The base of every link we hand out: configuration only, never the request's Host header. */
export function linkBase(config: Config): string {
  return config.publicBaseUrl ?? LOCAL_BASE_URL;
}
