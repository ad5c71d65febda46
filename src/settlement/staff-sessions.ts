import { and, eq, gt, isNull } from "drizzle-orm";
import type { Executor } from "../db/database.js";
import { staffSessions } from "../db/schema/index.js";
import type { StaffRole } from "../auth/caller.js";
import { webSessions } from "../auth/web-sessions.js";

export const STAFF_LOGIN_TTL_SECONDS = 5 * 60;
export const STAFF_SESSION_TTL_SECONDS = 30 * 60;

type Staff = { sub: string; role: StaffRole };

/** Staff pages' sign-in: the shared web-session flow over `staff_sessions`. */
const sessions = webSessions<Staff>({
  name: "staff",
  loginTtlSeconds: STAFF_LOGIN_TTL_SECONDS,
  sessionTtlSeconds: STAFF_SESSION_TTL_SECONDS,
  store: {
    async insert(db, row) {
      await db.insert(staffSessions).values({ tokenHash: row.tokenHash, kind: row.kind, sub: row.subject.sub, role: row.subject.role, expiresAt: row.expiresAt, createdAt: row.now });
    },
    async spend(db, tokenHash, kind, now) {
      const [spent] = await db
        .update(staffSessions)
        .set({ usedAt: now })
        .where(and(eq(staffSessions.tokenHash, tokenHash), eq(staffSessions.kind, kind), isNull(staffSessions.usedAt), gt(staffSessions.expiresAt, now)))
        .returning({ sub: staffSessions.sub, role: staffSessions.role });
      return spent ?? null;
    },
    async find(db, tokenHash, kind, now) {
      const [row] = await db
        .select({ sub: staffSessions.sub, role: staffSessions.role })
        .from(staffSessions)
        .where(and(eq(staffSessions.tokenHash, tokenHash), eq(staffSessions.kind, kind), isNull(staffSessions.usedAt), gt(staffSessions.expiresAt, now)));
      return row ?? null;
    },
  },
});

/**
 * A one-time sign-in link for a staff web page, asked for by a request signed with the staff
 * member's own key (`npm run finance:login`), so no key is ever pasted into a browser.
 */
export async function createStaffLogin(db: Executor, sub: string, role: StaffRole, now: Date, baseUrl: string) {
  const { token, expiresAt } = await sessions.createLogin(db, { sub, role }, now);
  return { url: `${baseUrl}/finance/login/${token}`, expires_at: expiresAt.toISOString() };
}

export const staffLoginUsable = (db: Executor, token: string, now: Date) => sessions.loginUsable(db, token, now);

/** Spends a sign-in link (once) and starts a session with the link's role. */
export async function startStaffSession(tx: Executor, token: string, now: Date) {
  const started = await sessions.start(tx, token, now);
  return started && { sessionToken: started.sessionToken, sub: started.subject.sub, role: started.subject.role };
}

export const staffSession = (db: Executor, token: string, now: Date): Promise<Staff | null> => sessions.current(db, token, now);
export const endStaffSession = (db: Executor, token: string, now: Date) => sessions.end(db, token, now);
export const staffCsrf = (sessionToken: string) => sessions.csrf(sessionToken);
