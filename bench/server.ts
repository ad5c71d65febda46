/**
 * The Node server as the benchmarks run it, in its own process: the real app over node-postgres,
 * counting every query the app sends (GET /__bench/queries), optionally without request
 * verification (BENCH_SKIP_VERIFY=1) — a switch only this file can turn on.
 */
import { serve } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { createApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db/client.js";
import type { Services } from "../src/services.js";
import { parseTokenUnverified } from "../src/auth/token.js";

const config = loadConfig({ ...process.env, ENVIRONMENT: "development" });
const handle = await openDatabase({ kind: "pg", url: process.env.DATABASE_URL!, max: Number(process.env.BENCH_POOL ?? 40) });
let queries = 0;
const client = (handle.db as unknown as { $client: { query: (...a: unknown[]) => unknown } }).$client;
const original = client.query.bind(client);
client.query = (...args: unknown[]) => {
  queries++;
  return original(...args);
};
const services: Services = { config, db: () => handle.db, now: () => new Date() };
// Injected here only: the app carries no switch for it.
const skipVerification = process.env.BENCH_SKIP_VERIFY === "1";
const app = createApp({
  services: () => ({ services, finish: async () => undefined }),
  ...(skipVerification ? { verifyRequest: async (request, _requirement, deps) => parseTokenUnverified(request, deps.now()) } : {}),
  mountBefore: (a) => {
    a.get("/__bench/queries", (c) => c.json({ queries }));
  },
});
const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) => {
  console.log(JSON.stringify({ port: info.port }));
});
process.on("SIGTERM", () => {
  server.close();
  void handle.close().then(() => process.exit(0));
});
