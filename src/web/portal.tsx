import { linkBase } from "../config.js";
import { WEB_TOKEN_PATTERN } from "../auth/web-sessions.js";
import type { Context } from "hono";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { deleteCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../http/env.js";
import {
  createLinkCode,
  unlinkMember,
} from "../members/links.js";
import {
  csrfFor,
  endPortalSession,
  loginIsUsable,
  portalView,
  PORTAL_SESSION_TTL_SECONDS,
  startPortalSession,
  type PortalView,
} from "../members/portal.js";
import { HISTORY_KINDS, memberHistory, type HistoryItem, type HistoryKind, type HistoryPage } from "../ledger/queries.js";
import { DomainError } from "../errors.js";
import { checkForm, formatDate, formatPoints, html, Page, registerStylesheet } from "./layout.js";
import { COOKIE, currentSession, Expired, PortalNav, sessionEnded, type PortalSession } from "./portal-kit.js";
import { registerPortalRewards } from "./portal-rewards.js";
import { registerPortalEconomy } from "./portal-economy.js";

function LoginPage(props: { token: string }) {
  return (
    <Page title="Open your account · Coalesce">
      <h1>Your Coalesce account</h1>
      <section class="card">
        <p>This link opens your points account once. It stays open for {PORTAL_SESSION_TTL_SECONDS / 60} minutes.</p>
        <form method="post" action="/portal/login">
          <input type="hidden" name="token" value={props.token} />
          <button type="submit">Open my account</button>
        </form>
      </section>
    </Page>
  );
}

const HISTORY_PAGE = 25;
const KIND_LABELS: Record<HistoryKind, string> = { earned: "Earned", spent: "Spent and held", rewards: "Rewards", transfers: "Transfers", expired: "Expired" };

interface HistoryFilter {
  brand?: string;
  kind?: HistoryKind;
  cursor?: string;
}

/** The address of a history page: the filter kept, the cursor for the page wanted. */
function historyHref(filter: HistoryFilter, cursor?: string): string {
  const q = new URLSearchParams();
  if (filter.brand) q.set("brand", filter.brand);
  if (filter.kind) q.set("kind", filter.kind);
  if (cursor) q.set("before", cursor);
  const text = q.toString();
  return `/portal${text ? `?${text}` : ""}#history-h`;
}

function HistoryRow(props: { t: HistoryItem }) {
  const t = props.t;
  return (
    <tr class={t.status === "held" ? "held" : undefined}>
      <td data-label="When">{formatDate(t.created_at)}</td>
      <td data-label="Brand">{t.partner_name}</td>
      <td data-label="What">
        {t.label}
        {t.status === "pending" ? <span class="warn"> · pending until {formatDate(t.available_at!)}</span> : null}
        {t.status === "held" ? <span class="warn"> · until {formatDate(t.expires_at!)}</span> : null}
        {t.reference ? <span class="ref muted small">Ref. {t.reference}</span> : null}
      </td>
      <td data-label="Points" class="num">
        {(t.signed_points > 0 ? "+" : "") + formatPoints(t.signed_points)}
      </td>
    </tr>
  );
}

function History(props: { page: HistoryPage; filter: HistoryFilter; brands: { partner_id: string; name: string }[] }) {
  const { page, filter } = props;
  const rows = [...page.holds, ...page.items];
  return (
    <>
      <form method="get" action="/portal" class="filters" aria-label="Filter the history">
        <p class="field">
          <label for="brand">Brand</label>
          <select id="brand" name="brand">
            <option value="">All brands</option>
            {props.brands.map((b) => (
              <option value={b.partner_id} selected={filter.brand === b.partner_id}>
                {b.name}
              </option>
            ))}
            <option value="coalesce" selected={filter.brand === "coalesce"}>
              Coalesce (transfers in, bonuses)
            </option>
          </select>
        </p>
        <p class="field">
          <label for="kind">Kind</label>
          <select id="kind" name="kind">
            <option value="">Everything</option>
            {(Object.keys(KIND_LABELS) as HistoryKind[]).map((k) => (
              <option value={k} selected={filter.kind === k}>
                {KIND_LABELS[k]}
              </option>
            ))}
          </select>
        </p>
        <p class="field">
          <button type="submit" class="secondary">
            Show
          </button>
        </p>
      </form>
      {rows.length === 0 ? (
        <p class="muted">{filter.brand || filter.kind ? "Nothing matches this filter." : "No activity yet. Earn points with any brand in the coalition."}</p>
      ) : (
        <div class="table-wrap" tabindex={0} role="region" aria-label="Points history">
          <table class="history">
            <caption class="visually-hidden">Points history across all brands, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Brand</th>
                <th scope="col">What</th>
                <th scope="col" class="num">
                  Points
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((t) => (
                <HistoryRow t={t} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p class="actions">
        {filter.cursor ? <a href={historyHref({ brand: filter.brand, kind: filter.kind })}>Newest</a> : null}
        {page.next_cursor ? (
          <a href={historyHref(filter, page.next_cursor)} rel="next">
            Older
          </a>
        ) : null}
      </p>
    </>
  );
}

function AccountPage(props: { view: PortalView; history: HistoryPage; filter: HistoryFilter; csrf: string; newCode?: { code: string; expires_at: string }; notice?: string }) {
  const { view } = props;
  const next = view.tier.next;
  return (
    <Page
      title="Your points · Coalesce"
      nav={<PortalNav current="points" csrf={props.csrf} />}
    >
      <h1>Your points</h1>
      {props.notice ? (
        <p class="notice" role="status">
          {props.notice}
        </p>
      ) : null}
      <section class="card" aria-labelledby="balance-h">
        <h2 id="balance-h">Balance</h2>
        <dl class="stats">
          <div>
            <dt>Available</dt>
            <dd data-testid="available">{formatPoints(view.balance.available)}</dd>
          </div>
          <div>
            <dt>Pending</dt>
            <dd data-testid="pending">{formatPoints(view.balance.pending)}</dd>
          </div>
          <div>
            <dt>Held</dt>
            <dd data-testid="held">{formatPoints(view.balance.held)}</dd>
          </div>
        </dl>
        <p class="muted">Pending points become available when the stay or order is completed. Held points are reserved for a purchase in progress.</p>
      </section>
      <section class="card" aria-labelledby="rewards-h">
        <h2 id="rewards-h">Rewards</h2>
        <p>Spend your points on vouchers, items and transfers from brands in the coalition.</p>
        <p class="actions">
          <a class="button" href="/portal/rewards">
            Browse rewards
          </a>
          <a href="/portal/my-rewards">My rewards and vouchers</a>
        </p>
      </section>
      <section class="card" aria-labelledby="friends-h">
        <h2 id="friends-h">Friends and family</h2>
        <p>Send points to someone with an account at any brand in the coalition, receive theirs, or invite a friend: you both get a bonus on their first purchase.</p>
        <p class="actions">
          <a class="button" href="/portal/transfer">
            Send or receive points
          </a>
          <a href="/portal/invite">Invite friends</a>
        </p>
      </section>
      <section class="card" aria-labelledby="tier-h">
        <h2 id="tier-h">
          Tier: <span data-testid="tier">{view.tier.tier.name}</span>
        </h2>
        <p>{formatPoints(view.tier.earned_12m)} points earned in the last 12 months.</p>
        {next ? (
          <>
            <progress max={next.threshold} value={Math.min(view.tier.earned_12m, next.threshold)} aria-label={`Progress to ${next.name}`} />
            <p class="muted">
              {formatPoints(next.points_to_go)} more to reach {next.name}.
            </p>
          </>
        ) : (
          <p class="ok">You are in the top tier.</p>
        )}
      </section>
      <section class="card" aria-labelledby="brands-h">
        <h2 id="brands-h">Linked brands</h2>
        {view.brands.length === 0 ? <p class="muted">No brand is linked to this account.</p> : null}
        <ul class="plain">
          {view.brands.map((b) => (
            <li>
              <span>
                <strong>{b.name}</strong> <span class="muted">since {b.linked_at.slice(0, 10)}</span>
              </span>
              <form method="post" action="/portal/unlink" class="inline">
                <input type="hidden" name="csrf" value={props.csrf} />
                <input type="hidden" name="partner_id" value={b.partner_id} />
                <button type="submit" class="secondary" aria-label={`Unlink ${b.name}`}>
                  Unlink
                </button>
              </form>
            </li>
          ))}
        </ul>
        <h3>Link another brand</h3>
        {props.newCode ? (
          <div role="status">
            <p>Give this code to the other brand (in its app or at its desk). It works once, until {formatDate(props.newCode.expires_at)}.</p>
            <p class="code" data-testid="link-code">
              {props.newCode.code}
            </p>
          </div>
        ) : (
          <p class="muted">Create a one-time code and enter it with the other brand to collect points in one place.</p>
        )}
        <form method="post" action="/portal/link-codes">
          <input type="hidden" name="csrf" value={props.csrf} />
          <button type="submit">Create a link code</button>
        </form>
      </section>
      <section class="card" aria-labelledby="history-h">
        <h2 id="history-h">History</h2>
        <History page={props.history} filter={props.filter} brands={view.brands} />
      </section>
    </Page>
  );
}

/** The history filter from the address, each part checked (anything else is ignored, never an error page). */
function historyFilter(c: Context<AppEnv>): HistoryFilter {
  const brand = c.req.query("brand");
  const kind = c.req.query("kind");
  const before = c.req.query("before");
  return {
    ...(brand && /^[a-z0-9][a-z0-9-]{0,62}$/.test(brand) ? { brand } : {}),
    ...(kind && kind in HISTORY_KINDS ? { kind: kind as HistoryKind } : {}),
    ...(before && /^[A-Za-z0-9_-]{1,200}$/.test(before) ? { cursor: before } : {}),
  };
}

async function renderAccount(c: Context<AppEnv>, session: PortalSession, extra: { newCode?: { code: string; expires_at: string }; notice?: string } = {}) {
  const db = c.var.services.db();
  const now = c.var.services.now();
  const view = await portalView(db, session.memberId, now);
  let filter = historyFilter(c);
  let history: HistoryPage;
  try {
    history = await memberHistory(db, session.memberId, { limit: HISTORY_PAGE, cursor: filter.cursor, partnerId: filter.brand, kind: filter.kind }, now);
  } catch (err) {
    // A cursor this page did not make: the newest page instead.
    if (!(err instanceof DomainError)) throw err;
    filter = { ...filter, cursor: undefined };
    history = await memberHistory(db, session.memberId, { limit: HISTORY_PAGE, partnerId: filter.brand, kind: filter.kind }, now);
  }
  return html(c, <AccountPage view={view} history={history} filter={filter} csrf={await csrfFor(session.token)} {...extra} />);
}

/** The member portal: server-rendered, no scripts, no CDN; a short HttpOnly session from a one-time URL. */
export function registerPortal(app: OpenAPIHono<AppEnv>) {
  registerStylesheet(app);
  registerPortalRewards(app);
  registerPortalEconomy(app);

  app.get("/portal/login/:token", async (c) => {
    const token = c.req.param("token");
    // Showing the page does not spend the link, so a link preview cannot burn it; the button does.
    if (!(await loginIsUsable(c.var.services.db(), token, c.var.services.now())))
      return html(c, <Expired title="This link has expired" message="Account links work once, for 10 minutes." />, 410);
    return html(c, <LoginPage token={token} />);
  });

  app.post("/portal/login", async (c) => {
    const form = (await c.req.parseBody()) as Record<string, string>;
    const token = typeof form.token === "string" ? form.token : "";
    const db = c.var.services.db();
    // A token of the wrong shape opens no transaction; the session module checks the same pattern.
    const session = WEB_TOKEN_PATTERN.test(token) ? await db.transaction((tx) => startPortalSession(tx, token, c.var.services.now())) : null;
    if (!session) return html(c, <Expired title="This link has expired" message="Account links work once, for 10 minutes." />, 410);
    setCookie(c, COOKIE, session.sessionToken, {
      httpOnly: true,
      secure: linkBase(c.var.services.config).startsWith("https:"), // as configured, whatever a proxy forwards
      sameSite: "Lax",
      path: "/portal",
      maxAge: PORTAL_SESSION_TTL_SECONDS,
    });
    return c.redirect("/portal", 303);
  });

  app.get("/portal", async (c) => {
    const session = await currentSession(c);
    if (!session) return sessionEnded(c);
    return renderAccount(c, session);
  });

  app.post("/portal/link-codes", async (c) => {
    const session = await currentSession(c);
    if (!session) return sessionEnded(c);
    await checkForm(c, await csrfFor(session.token));
    const now = c.var.services.now();
    const code = await c.var.services.db().transaction((tx) => createLinkCode(tx, session.memberId, null, now));
    return renderAccount(c, session, { newCode: code });
  });

  app.post("/portal/unlink", async (c) => {
    const session = await currentSession(c);
    if (!session) return sessionEnded(c);
    const form = await checkForm(c, await csrfFor(session.token));
    const partnerId = typeof form.partner_id === "string" ? form.partner_id.slice(0, 63) : "";
    const now = c.var.services.now();
    let notice = "That brand is no longer linked.";
    try {
      await c.var.services.db().transaction((tx) => unlinkMember(tx, partnerId, session.memberId, now));
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      notice = "That brand was not linked.";
    }
    return renderAccount(c, session, { notice });
  });

  app.post("/portal/logout", async (c) => {
    const session = await currentSession(c);
    if (session) {
      await checkForm(c, await csrfFor(session.token));
      await endPortalSession(c.var.services.db(), session.token, c.var.services.now());
    }
    deleteCookie(c, COOKIE, { path: "/portal" });
    return html(c, <Expired title="You are signed out" message="Your account session has ended." />);
  });
}
