/** What every member portal page shares: the session cookie, the signed-out pages and the navigation. */
import type { Context } from "hono";
import type { Child } from "hono/jsx";
import { getCookie } from "hono/cookie";
import type { AppEnv } from "../http/env.js";
import { sessionSubject } from "../members/portal.js";
import { html, Page } from "./layout.js";

export const COOKIE = "coalesce_portal";

export interface PortalSession {
  memberId: string;
  /** The partner whose one-time link opened this session (the portal redeems rewards through it). */
  partnerId: string | null;
  token: string;
}

export async function currentSession(c: Context<AppEnv>): Promise<PortalSession | null> {
  const token = getCookie(c, COOKIE);
  if (!token) return null;
  const subject = await sessionSubject(c.var.services.db(), token, c.var.services.now());
  return subject ? { memberId: subject.memberId, partnerId: subject.partnerId, token } : null;
}

export function Expired(props: { title: string; message: string }) {
  return (
    <Page title={`${props.title} · Coalesce`}>
      <h1>{props.title}</h1>
      <section class="card">
        <p>{props.message}</p>
        <p class="muted">Open your account again from the app or website of any brand you are a member with.</p>
      </section>
    </Page>
  );
}

export const sessionEnded = (c: Context<AppEnv>) =>
  html(c, <Expired title="Your session has ended" message="For your security, account sessions last 15 minutes." />, 401);

export type PortalSection = "points" | "rewards" | "mine" | "transfer" | "invite";

const SECTIONS: { id: PortalSection; href: string; label: string }[] = [
  { id: "points", href: "/portal", label: "Points" },
  { id: "rewards", href: "/portal/rewards", label: "Rewards" },
  { id: "mine", href: "/portal/my-rewards", label: "My rewards" },
  { id: "transfer", href: "/portal/transfer", label: "Send & receive" },
  { id: "invite", href: "/portal/invite", label: "Invite" },
];

/** A message at the top of a page: a status, or (tone "error") an alert. */
export function Notice(props: { children: unknown; tone?: "ok" | "error" }) {
  if (props.tone === "error")
    return (
      <div class="notice error" role="alert">
        {props.children}
      </div>
    );
  return (
    <div class="notice" role="status">
      {props.children}
    </div>
  );
}

/** The portal's header navigation: its sections (the current one marked) and signing out. */
export function PortalNav(props: { current?: PortalSection; csrf: string }) {
  return (
    <>
      <nav class="portal" aria-label="Your account">
        {SECTIONS.map((s) => (
          <a href={s.href} aria-current={props.current === s.id ? "page" : undefined}>
            {s.label}
          </a>
        ))}
      </nav>
      <form method="post" action="/portal/logout" class="inline">
        <input type="hidden" name="csrf" value={props.csrf} />
        <button type="submit" class="secondary">
          Sign out
        </button>
      </form>
    </>
  );
}

/** A signed-in portal page. */
export function PortalPage(props: { title: string; current?: PortalSection; csrf: string; children: Child }) {
  return (
    <Page title={`${props.title} · Coalesce`} nav={<PortalNav current={props.current} csrf={props.csrf} />}>
      {props.children}
    </Page>
  );
}
