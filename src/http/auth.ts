import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { consumeToken } from "../auth/spend.js";
import type { Executor } from "../db/database.js";
import type { Requirement, StaffRole } from "../auth/caller.js";
import type { AppEnv } from "./env.js";

/**
 * The request target as it came over the wire. Node hands us the raw request line; elsewhere
 * (Workers) the URL's path and query, which keep percent-encoding as sent.
 */
export function rawTarget(c: Context<AppEnv>): string {
  const incoming = (c.env as { incoming?: { url?: string } } | undefined)?.incoming;
  if (incoming?.url && incoming.url.startsWith("/")) return incoming.url;
  const url = new URL(c.req.url);
  return url.pathname + url.search;
}

function requireCaller(requirement: Requirement) {
  return createMiddleware<AppEnv>(async function verifySignedRequest(c, next) {
    const body = new Uint8Array(await c.req.arrayBuffer());
    c.set("rawBody", body);
    const request = { authorization: c.req.header("authorization"), method: c.req.method, target: rawTarget(c), body };
    const token = await c.var.verifyRequest(request, requirement, c.var.services);
    c.set("caller", token.caller);
    c.set("token", { ...token, spent: false });
    await next();
    if (token.rateLimitPerMinute !== null) {
      // The partner's per-minute limit and when its window ends, on every answer past verification
      // (set after the route: refusals it threw are answers by now, and get them too).
      const now = token.verifiedAt.getTime();
      c.header("ratelimit-limit", String(token.rateLimitPerMinute));
      c.header("ratelimit-reset", String(Math.max(1, Math.ceil((Math.floor(now / 60_000) * 60_000 + 60_000 - now) / 1000))));
    }
    // Every protected route must spend the token before acting; a success that did not is a bug.
    if (!c.var.token.spent && c.res.status < 400) {
      console.error(`${c.req.method} ${c.req.path} answered without spending its request token`);
      throw new Error("request token was not spent");
    }
  });
}

/**
 * Records the request's jti (refusing a replay) and counts it against the rate limit, on `db`:
 * the route's transaction where it has one, so the jti commits together with the effect.
 */
export async function spendToken(c: Context<AppEnv>, db: Executor): Promise<void> {
  const token = c.var.token;
  if (token.spent) return;
  await consumeToken(db, token);
  token.spent = true;
}

/** A read on a protected route: spend the token, then read. */
export async function authorizedRead<T>(c: Context<AppEnv>, read: () => Promise<T>): Promise<T> {
  await spendToken(c, c.var.services.db());
  return read();
}

/** Partner routes: a request signed by an active key of an active partner. */
export const requirePartner = () => requireCaller({ kind: "partner" });
/** Staff routes: a request signed with an OPERATOR_JWKS key, carrying this role. */
export const requireStaff = (role: StaffRole) => requireCaller({ kind: "staff", role });

/** The calling partner's id on a partner route (the middleware has already refused anyone else). */
export function callingPartner(c: Context<AppEnv>): string {
  const caller = c.var.caller;
  if (caller.kind !== "partner") throw new Error("a partner route was reached without a partner caller");
  return caller.partnerId;
}
