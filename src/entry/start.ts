/**
 * `npm start`: the whole platform on one machine. Migrates, loads the demo coalition from
 * `partners/` with dev keys generated into `.data/`, serves on PORT, runs the periodic jobs.
 */
import { join } from "node:path";
import { loadConfig } from "../config.js";
import { openDatabase, targetFromEnv } from "../db/client.js";
import { migrateHandle } from "../db/migrate.js";
import { DEFAULT_DATA_DIR, devEnvironment, loadDemoCoalition } from "../dev/bootstrap.js";
import { demoDocsKey } from "../dev/docs-key.js";
import { serveNode } from "./node.js";

async function main() {
  const started = performance.now();
  const dataDir = process.env.DATA_DIR || DEFAULT_DATA_DIR;
  const env = { ENVIRONMENT: "development", ...process.env, ...(await devEnvironment(dataDir, process.env)) };
  const config = loadConfig(env);
  const port = parsePort(process.env.PORT);

  const handle = await openDatabase(targetFromEnv(config.databaseUrl, join(dataDir, "pglite")));
  await migrateHandle(handle, config.databaseUrl);
  const loaded = await loadDemoCoalition(handle.db, join(process.cwd(), "partners"), dataDir, new Date());
  // The docs page's "Use the local demo key" (development only): the first demo partner's key.
  const demo = loaded[0]?.partner_id;
  const docsDevKey = config.environment === "development" && demo ? demoDocsKey(dataDir, demo) : undefined;
  const server = await serveNode({ config, handle, port, hostname: process.env.HOST || "127.0.0.1", docsDevKey });

  const where = config.databaseUrl ? "Postgres (DATABASE_URL)" : `embedded PGlite in ${join(dataDir, "pglite")}`;
  console.log(`
Coalesce is running (${Math.round(performance.now() - started)} ms), database: ${where}
  API            ${server.url}/v1
  API docs       ${server.url}/docs   (OpenAPI: ${server.url}/openapi.json)${docsDevKey ? `\n                 "Try it out" signs in the browser: click "Use the local demo key" (${demo})` : ""}
  Health         ${server.url}/health
  Demo partners  ${loaded.map((r) => r.partner_id).join(", ")}  (dev keys in ${join(dataDir, "keys")})

First signed call (in another terminal):
  npm run partner -- aurora-hotels POST /v1/members '{"external_ref":"guest-1001"}'
`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: finishing ${server.inFlight()} in-flight request(s)…`);
    await server.close();
    await handle.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw === "") return 8787;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be an integer 0–65535, got "${raw}"`);
  return port;
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
