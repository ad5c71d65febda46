import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("configuration", () => {
  it("has the spec's defaults", () => {
    const c = loadConfig({ PUBLIC_BASE_URL: "https://coalesce.example/" });
    expect(c).toMatchObject({ apiAudience: "coalition-api", operatorIssuer: "operator", operatorJwks: null, environment: "production" });
    expect(c.platformSigningKeys).toEqual([]);
    expect(c.publicBaseUrl).toBe("https://coalesce.example");
  });

  it("requires PUBLIC_BASE_URL in production: links are never built from request headers", () => {
    expect(() => loadConfig({})).toThrow(/PUBLIC_BASE_URL: required in production/);
    expect(() => loadConfig({ ENVIRONMENT: "production", PUBLIC_BASE_URL: "" })).toThrow(ConfigError);
    expect(loadConfig({ ENVIRONMENT: "development" }).publicBaseUrl).toBeUndefined();
  });

  it("has the members' economy's defaults, takes them from strings or (Worker vars) numbers, and refuses nonsense", () => {
    expect(loadConfig({ ENVIRONMENT: "test" })).toMatchObject({ memberTransferDailyPoints: 20_000, referralBonusPoints: 500, referralMaxPerYear: 20 });
    expect(loadConfig({ ENVIRONMENT: "test", MEMBER_TRANSFER_DAILY_POINTS: "5000", REFERRAL_BONUS_POINTS: 250, REFERRAL_MAX_PER_YEAR: 0 })).toMatchObject({
      memberTransferDailyPoints: 5_000,
      referralBonusPoints: 250,
      referralMaxPerYear: 0,
    });
    for (const bad of [{ MEMBER_TRANSFER_DAILY_POINTS: "0" }, { REFERRAL_BONUS_POINTS: "1.5" }, { REFERRAL_MAX_PER_YEAR: "-1" }, { MEMBER_TRANSFER_DAILY_POINTS: "lots" }])
      expect(() => loadConfig({ ENVIRONMENT: "test", ...bad }), JSON.stringify(bad)).toThrow(new RegExp(Object.keys(bad)[0]!));
  });

  it("treats empty strings as unset", () => {
    expect(loadConfig({ API_AUDIENCE: "", DATABASE_URL: "", ENVIRONMENT: "test" })).toMatchObject({ apiAudience: "coalition-api", databaseUrl: undefined });
  });

  it("accepts one platform key, an array of them, or a JWKS (rotation)", () => {
    const k = { kty: "EC", crv: "P-256", x: "a", y: "b", d: "c", kid: "p1" };
    const env = { ENVIRONMENT: "test" };
    expect(loadConfig({ ...env, PLATFORM_SIGNING_KEY: JSON.stringify(k) }).platformSigningKeys).toHaveLength(1);
    expect(loadConfig({ ...env, PLATFORM_SIGNING_KEY: JSON.stringify([k, { ...k, kid: "p2" }]) }).platformSigningKeys).toHaveLength(2);
    expect(loadConfig({ ...env, PLATFORM_SIGNING_KEY: JSON.stringify({ keys: [k] }) }).platformSigningKeys).toHaveLength(1);
  });

  it("names every bad variable, and never echoes its value", () => {
    let message = "";
    try {
      loadConfig({ OPERATOR_JWKS: "{not json", ENVIRONMENT: "staging", PUBLIC_BASE_URL: "not a url" });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/OPERATOR_JWKS/);
    expect(message).toMatch(/ENVIRONMENT/);
    expect(message).toMatch(/PUBLIC_BASE_URL/);
    expect(message).not.toContain("{not json");
  });
});
