/**
 * Workers project, once per run (in Node): a fresh migrated database and the WebSocket-to-TCP
 * proxy the Neon driver inside workerd tunnels through. Without a reachable Postgres the
 * project's tests report themselves skipped.
 */
import { execFileSync } from "node:child_process";
import type { TestProject } from "vitest/node";
import { exportJWK, generateKeyPair } from "jose";
import { migrateDatabase } from "../../src/db/migrate.js";
import { adminQuery, databaseUrl, LOCAL_SERVER_URL, pgReachable, quoteIdent, uniqueName } from "../support/pg.js";
import { startWsProxy } from "../support/ws-proxy.js";

declare module "vitest" {
  export interface ProvidedContext {
    workersPg: { available: boolean; reason: string; databaseUrl: string; wsProxy: string; statsUrl: string };
    /** Staff key for the Worker under test: public half in its OPERATOR_JWKS, private half for the tests. */
    workersStaff: { privateJwk: Record<string, unknown>; jwks: string; platformKey: string };
  }
}

async function keyPair(kid: string) {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: "ES256" };
  const { d: _d, ...publicJwk } = privateJwk;
  return { privateJwk, publicJwk };
}

export default async function setup(project: TestProject) {
  const staff = await keyPair("workers-staff");
  const platform = await keyPair("workers-platform");
  project.provide("workersStaff", {
    privateJwk: staff.privateJwk,
    jwks: JSON.stringify({ keys: [staff.publicJwk] }),
    platformKey: JSON.stringify(platform.privateJwk),
  });
  // wrangler.toml's assets folder must exist for the Worker to load.
  execFileSync("npx", ["tsx", "scripts/assets.ts"], { stdio: "ignore" });
  const serverUrl = process.env.DATABASE_URL || LOCAL_SERVER_URL;
  if (!(await pgReachable(serverUrl))) {
    const reason = `no Postgres reachable at ${process.env.DATABASE_URL ? "DATABASE_URL" : LOCAL_SERVER_URL}`;
    console.warn(`[workers] SKIPPED: ${reason}; the Worker-in-workerd suite needs a Postgres server.`);
    project.provide("workersPg", { available: false, reason, databaseUrl: "", wsProxy: "", statsUrl: "" });
    return;
  }
  const name = uniqueName("coalesce_w");
  await adminQuery(serverUrl, `create database ${quoteIdent(name)}`);
  const url = databaseUrl(serverUrl, name);
  await migrateDatabase({ kind: "url", url });
  const proxy = await startWsProxy();
  project.provide("workersPg", { available: true, reason: "", databaseUrl: url, wsProxy: proxy.url, statsUrl: proxy.statsUrl });
  return async () => {
    await proxy.close();
    await adminQuery(serverUrl, `drop database if exists ${quoteIdent(name)} with (force)`);
  };
}
