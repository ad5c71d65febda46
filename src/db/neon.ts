import { Pool, neonConfig } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-serverless";
import { NeonSession, NeonTransaction } from "drizzle-orm/neon-serverless/session";
import * as schema from "./schema/index.js";
import type { Database, DbHandle } from "./database.js";
import { fixPooledTransactions } from "./pooled-transaction.js";

fixPooledTransactions(NeonSession, NeonTransaction, (client) => client instanceof Pool);

export interface NeonOptions {
  url: string;
  /** ws://host:port of a local WebSocket-to-TCP proxy (development and tests only). */
  wsProxy?: string | undefined;
  /** Node has no global WebSocket before 22: pass `ws` there. */
  webSocketConstructor?: unknown;
  max?: number;
}

/**
 * The production driver: a Neon WebSocket Pool. On Workers it is created per request
 * (sockets cannot outlive the request) and ended with `ctx.waitUntil`.
 */
export function openNeon(options: NeonOptions): DbHandle {
  if (options.wsProxy) {
    const proxy = options.wsProxy.replace(/^wss?:\/\//, "").replace(/\/+$/, "");
    neonConfig.wsProxy = (host, port) => `${proxy}/v1?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = options.wsProxy.startsWith("wss://");
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  }
  if (options.webSocketConstructor) neonConfig.webSocketConstructor = options.webSocketConstructor as never;
  const pool = new Pool({ connectionString: options.url, max: options.max ?? 4 });
  let closed = false;
  // An idle client's socket closing must not become an unhandled error event. Once the pool is
  // being ended its sockets closing is expected, not news: nothing is logged then (a log arriving
  // after a Worker's request, or a test file, has finished is itself an error there).
  pool.on("error", (err: Error) => {
    if (!closed) console.error("neon pool error:", err.message);
  });
  const db = drizzle(pool, { schema }) as unknown as Database;
  return {
    db,
    driver: "neon",
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
