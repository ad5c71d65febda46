import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { authenticate } from "../auth/verify.js";
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
    const caller = await authenticate(
      { authorization: c.req.header("authorization"), method: c.req.method, target: rawTarget(c), body },
      requirement,
      c.var.services,
    );
    c.set("caller", caller);
    await next();
  });
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
