import { exportJWK, generateKeyPair, type JWK } from "jose";
import { loadConfig, type Config } from "../../src/config.js";
import { createNodeApp } from "../../src/entry/node.js";
import { checkAnswersAgainstDocument } from "./contract-check.js";
import { openTestDatabase, type TestDatabase } from "./database.js";

export interface StaffKey {
  privateJwk: JWK & { kid: string; alg: string };
}

export interface TestContext {
  app: ReturnType<typeof createNodeApp>;
  config: Config;
  db: TestDatabase;
  staffKey: StaffKey;
  close(): Promise<void>;
}

async function keyPair(kid: string) {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid, alg: "ES256" };
}

/** A test app over a fresh database, with freshly generated staff and platform keys. */
export async function createTestContext(env: Record<string, string> = {}): Promise<TestContext> {
  const db = await openTestDatabase();
  const staff = await keyPair("staff-test");
  const platform = await keyPair("platform-test");
  const { d: _d, ...staffPublic } = staff;
  const config = loadConfig({
    ENVIRONMENT: "test",
    PUBLIC_BASE_URL: "http://coalesce.test",
    OPERATOR_JWKS: JSON.stringify({ keys: [staffPublic] }),
    PLATFORM_SIGNING_KEY: JSON.stringify(platform),
    ...env,
  });
  const app = checkAnswersAgainstDocument(createNodeApp(config, db.handle));
  return { app, config, db, staffKey: { privateJwk: staff }, close: () => db.dispose() };
}
