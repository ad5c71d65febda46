import { createApp } from "../app.js";
import { loadConfig, type Config } from "../config.js";
import { openNeon } from "../db/neon.js";
import type { DbHandle } from "../db/database.js";
import type { RequestServices } from "../services.js";
import { runScheduledJobs } from "../jobs/index.js";

// Parsed once per isolate per env object; the env itself is only ever read here.
const configs = new WeakMap<object, Config>();
function configFor(env: unknown): Config {
  const key = env as object;
  let config = configs.get(key);
  if (!config) {
    config = loadConfig(env as Record<string, unknown>);
    if (!config.databaseUrl) throw new Error("DATABASE_URL must be set on Workers");
    configs.set(key, config);
  }
  return config;
}

/** Per request: a Neon Pool opened on first use and ended when the response is done. */
function requestServices(env: unknown): RequestServices {
  const config = configFor(env);
  let handle: DbHandle | undefined;
  return {
    services: {
      config,
      now: () => new Date(),
      db() {
        handle ??= openNeon({ url: config.databaseUrl!, wsProxy: config.neonWsProxy });
        return handle.db;
      },
    },
    finish: async () => {
      await handle?.close();
    },
  };
}

const app = createApp({ services: requestServices, runtime: "workers" });

export default {
  fetch: app.fetch,
  async scheduled(controller: ScheduledController, env: unknown, ctx: ExecutionContext) {
    const scoped = requestServices(env);
    ctx.waitUntil(
      runScheduledJobs(scoped.services, new Date(controller.scheduledTime))
        .then((report) => console.log("scheduled jobs:", JSON.stringify(report)))
        .finally(() => scoped.finish()),
    );
  },
} satisfies ExportedHandler;
