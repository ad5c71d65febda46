import { sql } from "drizzle-orm";
import type { Database } from "../db/database.js";

export interface HealthReport {
  ok: boolean;
  database: { status: "ok" | "unreachable"; latency_ms: number };
}

const HEALTH_TIMEOUT_MS = 3_000;

/** One round trip to Postgres, bounded in time so a hung database cannot hang the check. */
export async function checkHealth(db: () => Database): Promise<HealthReport> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      db().execute(sql`select 1`),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("health check timed out")), HEALTH_TIMEOUT_MS);
      }),
    ]);
    return { ok: true, database: { status: "ok", latency_ms: Math.round(performance.now() - started) } };
  } catch (err) {
    console.error("health check failed:", err instanceof Error ? err.message : String(err));
    return { ok: false, database: { status: "unreachable", latency_ms: Math.round(performance.now() - started) } };
  } finally {
    if (timer) clearTimeout(timer);
  }
}
