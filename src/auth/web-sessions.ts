/**
 * Web sign-in for people, shared by the member portal and the staff pages: a one-time link
 * (random, only its hash stored, short-lived), a confirmation step that spends it once (a
 * conditional update), a session token for an HttpOnly cookie, and a CSRF token derived from the
 * session rather than stored. Each page family plugs in its own table through a `SessionStore`.
 */
import type { Executor } from "../db/database.js";
import { sha256Hex } from "../lib/encoding.js";
import { randomToken } from "../lib/ids.js";

/** The shape every link and session token has (32 random bytes, base64url). */
export const WEB_TOKEN_PATTERN = /^[A-Za-z0-9_-]{20,100}$/;

/** Where one family keeps its rows: a login or session row per token hash, with its subject. */
export interface SessionStore<Subject> {
  insert(db: Executor, row: { tokenHash: string; kind: "login" | "session"; subject: Subject; expiresAt: Date; now: Date }): Promise<void>;
  /** Marks an unused, unexpired row of `kind` used and returns its subject; null if there is none. */
  spend(db: Executor, tokenHash: string, kind: "login" | "session", now: Date): Promise<Subject | null>;
  /** The subject of an unused, unexpired row of `kind` (and, for sessions, a subject still allowed in). */
  find(db: Executor, tokenHash: string, kind: "login" | "session", now: Date): Promise<Subject | null>;
}

export interface WebSessions<Subject> {
  /** A one-time sign-in link's token and expiry, for `subject`. */
  createLogin(db: Executor, subject: Subject, now: Date): Promise<{ token: string; expiresAt: Date }>;
  /** Can this link still be used? (The confirmation page asks before spending it.) */
  loginUsable(db: Executor, token: string, now: Date): Promise<boolean>;
  /** Spends a link (once) and starts a session; null for an unknown, used or expired link. */
  start(db: Executor, loginToken: string, now: Date): Promise<{ sessionToken: string; expiresAt: Date; subject: Subject } | null>;
  /** The subject behind a live session token, or null. */
  current(db: Executor, sessionToken: string, now: Date): Promise<Subject | null>;
  end(db: Executor, sessionToken: string, now: Date): Promise<void>;
  /** A CSRF token bound to the session, derived rather than stored. */
  csrf(sessionToken: string): Promise<string>;
}

export function webSessions<Subject>(options: {
  /** Keeps each family's hashes apart ("portal", "staff"); changing it ends every session. */
  name: string;
  loginTtlSeconds: number;
  sessionTtlSeconds: number;
  store: SessionStore<Subject>;
}): WebSessions<Subject> {
  const { name, store } = options;
  const hash = (token: string) => sha256Hex(`${name}:${token}`);
  const later = (now: Date, seconds: number) => new Date(now.getTime() + seconds * 1000);
  return {
    async createLogin(db, subject, now) {
      const token = randomToken(32);
      const expiresAt = later(now, options.loginTtlSeconds);
      await store.insert(db, { tokenHash: await hash(token), kind: "login", subject, expiresAt, now });
      return { token, expiresAt };
    },
    async loginUsable(db, token, now) {
      return WEB_TOKEN_PATTERN.test(token) && (await store.find(db, await hash(token), "login", now)) !== null;
    },
    async start(db, loginToken, now) {
      if (!WEB_TOKEN_PATTERN.test(loginToken)) return null;
      const subject = await store.spend(db, await hash(loginToken), "login", now);
      if (subject === null) return null;
      const sessionToken = randomToken(32);
      const expiresAt = later(now, options.sessionTtlSeconds);
      await store.insert(db, { tokenHash: await hash(sessionToken), kind: "session", subject, expiresAt, now });
      return { sessionToken, expiresAt, subject };
    },
    async current(db, sessionToken, now) {
      if (!WEB_TOKEN_PATTERN.test(sessionToken)) return null;
      return store.find(db, await hash(sessionToken), "session", now);
    },
    async end(db, sessionToken, now) {
      if (!WEB_TOKEN_PATTERN.test(sessionToken)) return;
      await store.spend(db, await hash(sessionToken), "session", now);
    },
    csrf: (sessionToken) => sha256Hex(`${name}-csrf:${sessionToken}`),
  };
}
