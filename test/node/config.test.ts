import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("configuration", () => {
  it("has the spec's defaults", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ apiAudience: "coalition-api", operatorIssuer: "operator", operatorJwks: null, environment: "production" });
    expect(c.platformSigningKeys).toEqual([]);
  });

  it("treats empty strings as unset", () => {
    expect(loadConfig({ API_AUDIENCE: "", DATABASE_URL: "" })).toMatchObject({ apiAudience: "coalition-api", databaseUrl: undefined });
  });

  it("accepts one platform key, an array of them, or a JWKS (rotation)", () => {
    const k = { kty: "EC", crv: "P-256", x: "a", y: "b", d: "c", kid: "p1" };
    expect(loadConfig({ PLATFORM_SIGNING_KEY: JSON.stringify(k) }).platformSigningKeys).toHaveLength(1);
    expect(loadConfig({ PLATFORM_SIGNING_KEY: JSON.stringify([k, { ...k, kid: "p2" }]) }).platformSigningKeys).toHaveLength(2);
    expect(loadConfig({ PLATFORM_SIGNING_KEY: JSON.stringify({ keys: [k] }) }).platformSigningKeys).toHaveLength(1);
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
