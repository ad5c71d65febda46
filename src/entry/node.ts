import { createRequire } from "node:module";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import { createApp } from "../app.js";
import type { Config } from "../config.js";
import type { DbHandle } from "../db/database.js";
import { DOCS_ASSET_FILES, DOCS_ASSET_PREFIX, registerDocsDevKey, type DocsDevKeySource } from "../routes/docs.js";
import type { Services } from "../services.js";
import { runScheduledJobs } from "../jobs/index.js";
import { nodeSender } from "../events/node-send.js";

const swaggerDir = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
const ASSET_TYPES: Record<string, string> = { js: "text/javascript; charset=utf-8", css: "text/css; charset=utf-8" };

/** Webhooks from Node connect to the address they checked (no DNS rebinding between check and connect). */
const webhookSender = nodeSender();

export interface NodeAppExtras {
  /**
   * A demo partner's development key for the docs page (`npm start` passes one read from
   * `.data/keys/`); served at /docs/dev-key only while ENVIRONMENT is development.
   */
  docsDevKey?: DocsDevKeySource;
}

/** The app as Node serves it: one long-lived database handle, docs assets from node_modules. */
export function createNodeApp(config: Config, handle: DbHandle, now: () => Date = () => new Date(), extras: NodeAppExtras = {}) {
  const services: Services = { config, db: () => handle.db, now, webhookSender };
  return createApp({
    services: () => ({ services, finish: async () => undefined }),
    mountBefore: (app) => {
      app.get(`${DOCS_ASSET_PREFIX}:file`, async (c) => {
        const file = c.req.param("file");
        if (!(DOCS_ASSET_FILES as readonly string[]).includes(file)) return c.notFound();
        const body = await readFile(join(swaggerDir, file));
        return c.body(body, 200, {
          "content-type": ASSET_TYPES[file.split(".").pop()!]!,
          "cache-control": "public, max-age=86400",
        });
      });
      if (extras.docsDevKey) registerDocsDevKey(app, extras.docsDevKey);
    },
  });
}

export interface RunningServer {
  url: string;
  port: number;
  /** Requests being answered right now. */
  inFlight(): number;
  /**
   * Stops accepting connections, lets in-flight requests finish (each is one transaction: it
   * commits or rolls back whole), closes idle keep-alive connections, waits for a running job.
   * After `graceMs` (10 s) connections still open are cut. Does not close the database.
   */
  close(graceMs?: number): Promise<void>;
}

// Every 10 s: webhooks go out promptly; a run that is still going skips the tick (runs never overlap).
const JOB_INTERVAL_MS = 10_000;

/** Serves the app on `port` (0 = any free port) with the periodic jobs the Worker runs from cron. */
export async function serveNode(options: {
  config: Config;
  handle: DbHandle;
  port: number;
  hostname?: string;
  jobs?: boolean;
  /** The clock (tests move it); the wall clock by default. */
  now?: () => Date;
  /** See `NodeAppExtras.docsDevKey`. */
  docsDevKey?: DocsDevKeySource;
}): Promise<RunningServer> {
  const hostname = options.hostname ?? "127.0.0.1";
  // Links point where PUBLIC_BASE_URL says, else at this server's own address once it listens.
  let app: ReturnType<typeof createNodeApp> | undefined;
  let inFlight = 0;
  let closing = false;
  const fetch = async (request: Request, env: unknown) => {
    inFlight++;
    try {
      const res = await app!.fetch(request, env);
      // Once closing, tell keep-alive clients not to reuse this connection.
      if (closing) {
        try {
          res.headers.set("connection", "close");
        } catch {
          // immutable headers: the idle-connection sweep closes it instead
        }
      }
      return res;
    } finally {
      inFlight--;
    }
  };
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch, port: options.port, hostname }, () => resolve(s));
    s.once("error", reject);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
  // Set before any request can be read: the listen callback runs before the first connection event.
  const config = { ...options.config, publicBaseUrl: options.config.publicBaseUrl ?? url };
  app = createNodeApp(config, options.handle, options.now, { docsDevKey: options.docsDevKey });

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let busy = false;
  if (options.jobs !== false) {
    const services: Services = { config, db: () => options.handle.db, now: () => new Date(), webhookSender };
    timer = setInterval(() => {
      if (busy) return;
      busy = true;
      running = runScheduledJobs(services, new Date())
        .catch((err) => console.error("jobs failed:", err))
        .finally(() => (busy = false));
    }, JOB_INTERVAL_MS);
    timer.unref();
  }
  return {
    url,
    port,
    inFlight: () => inFlight,
    async close(graceMs = 10_000) {
      closing = true;
      if (timer) clearInterval(timer);
      const http = server as import("node:http").Server;
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeIdleConnections();
      const cut = setTimeout(() => http.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(cut);
      await running;
    },
  };
}
