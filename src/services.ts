import type { Config } from "./config.js";
import type { Database } from "./db/database.js";
import type { WebhookSender } from "./events/send.js";

/**
 * What a request's handlers get: configuration and a database, built per request on
 * Workers (sockets cannot outlive a request there) and once per process on Node.
 */
export interface Services {
  config: Config;
  /** Opened on first use, so requests that never touch Postgres never connect. */
  db(): Database;
  now(): Date;
  /** How webhooks leave: Node's sender pins each connection to the address it checked; absent means `fetch` (Workers). */
  webhookSender?: WebhookSender;
}

/** One request's services and what to release when its response is done. */
export interface RequestServices {
  services: Services;
  /** Called once the response is complete (Workers: ends the per-request pool). */
  finish(): Promise<void>;
}

/** How an entry supplies services for one request: from the Worker's env, or the process's own. */
export type ServicesProvider = (env: unknown) => RequestServices;
