import { linkBase } from "../config.js";
import type { Context } from "hono";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../http/env.js";
import { DomainError } from "../errors.js";
import { createDraftRun, finalizeRun, getRun, listRuns } from "../settlement/runs.js";
import { statementsCsv } from "../settlement/statements.js";
import { flowsCsv, flowsReport, liabilityCsv, liabilityReport, partnerPositions } from "../settlement/reports.js";
import {
  endStaffSession,
  staffCsrf,
  staffLoginUsable,
  staffSession,
  startStaffSession,
  STAFF_SESSION_TTL_SECONDS,
} from "../settlement/staff-sessions.js";
import { checkForm, formatAmount, formatPoints, html, Page } from "./layout.js";
import { LiabilityChart, Message, monthsBack, Nav, RunDates, RunTable } from "./finance-parts.js";
import { partners } from "../db/schema/index.js";
import type { Executor } from "../db/database.js";

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The reports' period from the address (`from`, `to` exclusive), else the last 12 months. A period
 * that is not two real dates in order, or longer than 3,600 days (the roll-forward has at most 120 months), falls back with a note (never an
 * error page).
 */
function reportRange(c: Context<AppEnv>, now: Date): { from: string; to: string; note?: string } {
  const from = c.req.query("from");
  const to = c.req.query("to");
  const fallback = monthsBack(now, 12);
  if (from === undefined && to === undefined) return fallback;
  const ok =
    typeof from === "string" && typeof to === "string" && DATE.test(from) && DATE.test(to) &&
    !Number.isNaN(Date.parse(from)) && !Number.isNaN(Date.parse(to)) && Date.parse(to) > Date.parse(from) &&
    Date.parse(to) - Date.parse(from) <= 3_600 * 86_400_000;
  return ok ? { from, to } : { ...fallback, note: "That period was not two dates in order (at most 3,600 days apart): showing the last 12 months." };
}

/** Partner names for the pages (ids are for the API). */
async function partnerNames(db: Executor): Promise<Map<string, string>> {
  const rows = await db.select({ id: partners.id, name: partners.name }).from(partners);
  return new Map(rows.map((r) => [r.id, r.name]));
}

const COOKIE = "coalesce_finance";

// Notices are looked up, never echoed from the URL.
const NOTICES: Record<string, string> = {
  final: "The run is final: statements are numbered, signed and frozen.",
  period_not_closed: "This period has not ended yet; finalize it after its end date.",
  period_finalized: "This period is already finalized.",
  refused: "The request was refused.",
};

interface Session {
  token: string;
  sub: string;
  csrf: string;
}

async function session(c: Context<AppEnv>): Promise<Session | null> {
  const token = getCookie(c, COOKIE);
  if (!token) return null;
  const s = await staffSession(c.var.services.db(), token, c.var.services.now());
  if (!s || s.role !== "finance") return null;
  return { token, sub: s.sub, csrf: await staffCsrf(token) };
}

const signedOut = (c: Context<AppEnv>) => html(c, <Message title="Please sign in" message="Finance sessions last 30 minutes." />, 401);

/** A page for a signed-in finance session only. */
/** The run id in a page's path: an id we could have issued, else 404 (never a query with raw input). */
function runIdOf(c: Context<AppEnv>): string {
  const id = c.req.param("run_id") ?? "";
  if (!/^run_[0-9a-z]{26}$/.test(id)) throw new DomainError("not_found", "No such settlement run.");
  return id;
}

const guarded = (handler: (c: Context<AppEnv>, s: Session) => Promise<Response>) => async (c: Context<AppEnv>) => {
  const s = await session(c);
  return s ? handler(c, s) : signedOut(c);
};

/** The finance dashboard: reports as tables and charts, settlement runs to draft, review, finalize and export. */
export function registerFinance(app: OpenAPIHono<AppEnv>) {
  app.get("/finance/login/:token", async (c) => {
    const token = c.req.param("token");
    if (!(await staffLoginUsable(c.var.services.db(), token, c.var.services.now())))
      return html(c, <Message title="This sign-in link has expired" message="Sign-in links work once, for 5 minutes." />, 410);
    return html(
      c,
      <Page title="Sign in · Coalesce finance">
        <h1>Coalesce finance</h1>
        <section class="card">
          <form method="post" action="/finance/login">
            <input type="hidden" name="token" value={token} />
            <button type="submit">Sign in</button>
          </form>
        </section>
      </Page>,
    );
  });

  app.post("/finance/login", async (c) => {
    const form = (await c.req.parseBody()) as Record<string, string>;
    const started = await c.var.services.db().transaction((tx) => startStaffSession(tx, String(form.token ?? ""), c.var.services.now()));
    if (!started) return html(c, <Message title="This sign-in link has expired" message="Sign-in links work once, for 5 minutes." />, 410);
    setCookie(c, COOKIE, started.sessionToken, {
      httpOnly: true,
      secure: linkBase(c.var.services.config).startsWith("https:"), // as configured, whatever a proxy forwards
      sameSite: "Strict",
      path: "/finance",
      maxAge: STAFF_SESSION_TTL_SECONDS,
    });
    return c.redirect("/finance", 303);
  });

  app.post("/finance/logout", async (c) => {
    const s = await session(c);
    if (s) {
      await checkForm(c, s.csrf);
      await endStaffSession(c.var.services.db(), s.token, c.var.services.now());
    }
    deleteCookie(c, COOKIE, { path: "/finance" });
    return html(c, <Message title="Signed out" message="Your finance session has ended." />);
  });

  app.get("/finance", guarded(async (c, s) => {
    const db = c.var.services.db();
    const now = c.var.services.now();
    const range = reportRange(c, now);
    const liability = await liabilityReport(db, range.from, range.to);
    const flows = await flowsReport(db, range.from, range.to);
    const query = `from=${range.from}&to=${range.to}`;
    const positions = await partnerPositions(db, now);
    const names = await partnerNames(db);
    const name = (id: string) => names.get(id) ?? id;
    const latest = liability.months.at(-1);
    // One column per settlement currency: amounts of different currencies never share a cell.
    const currencies = [...new Set(liability.months.flatMap((m) => Object.keys(m.value)))].sort();
    return html(
      c,
      <Page title="Reports · Coalesce finance" nav={<Nav csrf={s.csrf} />} wide>
        <h1>Finance reports</h1>
        <form method="get" action="/finance" class="filters" aria-label="Report period">
          <p class="field">
            <label for="from">From</label>
            <input id="from" name="from" type="date" required value={range.from} />
          </p>
          <p class="field">
            <label for="to">To (exclusive)</label>
            <input id="to" name="to" type="date" required value={range.to} />
          </p>
          <p class="field">
            <button type="submit" class="secondary">
              Show
            </button>
          </p>
        </form>
        {range.note ? (
          <p class="notice" role="status">
            {range.note}
          </p>
        ) : null}
        <section class="card" aria-labelledby="liab-h">
          <h2 id="liab-h">
            Liability, {range.from} to {range.to}
          </h2>
          <dl class="stats">
            <div>
              <dt>Outstanding points</dt>
              <dd data-testid="outstanding">{formatPoints(latest?.points.closing ?? 0)}</dd>
            </div>
            <div>
              <dt>Breakage rate</dt>
              <dd data-testid="breakage">{(Number(liability.breakage_rate) * 100).toFixed(2)} %</dd>
            </div>
          </dl>
          <LiabilityChart months={liability.months} />
          <p class="muted">Bars: points outstanding at each month's close. Solid line: issued. Dashed line: redeemed.</p>
          <p>
            <a href={`/finance/reports/liability.csv?${query}`} download>
              Download the liability roll-forward (CSV)
            </a>
          </p>
          <div class="table-wrap" tabindex={0} role="region" aria-label="Liability roll-forward (scrolls sideways)">
            <table>
              <caption class="visually-hidden">Liability roll-forward in points</caption>
              <thead>
                <tr>
                  <th scope="col">Month</th>
                  <th scope="col" class="num">Opening</th>
                  <th scope="col" class="num">Issued</th>
                  <th scope="col" class="num">Redeemed</th>
                  <th scope="col" class="num">Reversed</th>
                  <th scope="col" class="num">Expired</th>
                  <th scope="col" class="num">Closing</th>
                  {currencies.map((cur) => (
                    <th scope="col" class="num">
                      Value at close ({cur})
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {liability.months.map((m) => (
                  <tr>
                    <th scope="row">{m.month}</th>
                    <td class="num">{formatPoints(m.points.opening)}</td>
                    <td class="num">{formatPoints(m.points.issued)}</td>
                    <td class="num">{formatPoints(m.points.redeemed)}</td>
                    <td class="num">{formatPoints(m.points.reversed)}</td>
                    <td class="num">{formatPoints(m.points.expired)}</td>
                    <td class="num">{formatPoints(m.points.closing)}</td>
                    {currencies.map((cur) => (
                      <td class="num">{m.value[cur] ? formatAmount(m.value[cur].closing, cur) : "—"}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
        <section class="card" aria-labelledby="flows-h">
          <h2 id="flows-h">
            Cross-partner flows, {range.from} to {range.to}
          </h2>
          {flows.matrix.length === 0 ? <p class="muted">No points were redeemed in this period.</p> : null}
          <p>
            <a href={`/finance/reports/flows.csv?${query}`} download>
              Download the flows (CSV)
            </a>
          </p>
          <div class="table-wrap" tabindex={0} role="region" aria-label="Cross-partner flows (scrolls sideways)">
            <table>
              <caption class="visually-hidden">Points earned at one partner and burned at another</caption>
              <thead>
                <tr>
                  <th scope="col">Earned at</th>
                  <th scope="col">Burned at</th>
                  <th scope="col" class="num">Points</th>
                </tr>
              </thead>
              <tbody>
                {flows.matrix.map((f) => (
                  <tr>
                    <td>{f.earned_at ? name(f.earned_at) : "Coalesce (referral bonuses)"}</td>
                    <td>{name(f.burned_at)}</td>
                    <td class="num">{formatPoints(f.points)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
        <section class="card" aria-labelledby="rewards-h">
          <h2 id="rewards-h">Rewards catalogue by supplier, {range.from} to {range.to}</h2>
          {flows.rewards.length === 0 ? <p class="muted">No catalogue redemptions in this period.</p> : null}
          <div class="table-wrap" tabindex={0} role="region" aria-label="Rewards by supplier (scrolls sideways)">
            <table>
              <caption class="visually-hidden">Points redeemed for each supplier's rewards, units fulfilled and what the operator owes it</caption>
              <thead>
                <tr>
                  <th scope="col">Supplier</th>
                  <th scope="col" class="num">Points redeemed</th>
                  <th scope="col" class="num">Units fulfilled</th>
                  <th scope="col" class="num">Owed to supplier</th>
                </tr>
              </thead>
              <tbody>
                {flows.rewards.map((r) => (
                  <tr>
                    <td>{name(r.supplier_id)}</td>
                    <td class="num">{formatPoints(r.redeemed_points)}</td>
                    <td class="num">{formatPoints(r.fulfilled_units)}</td>
                    <td class="num">{r.currency ? `${formatAmount(r.owed_amount, r.currency)} ${r.currency}` : "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
        <section class="card" aria-labelledby="pos-h">
          <h2 id="pos-h">Partners: prepaid and unsettled</h2>
          <p class="muted">
            Unsettled {positions.unsettled_since ? `since ${positions.unsettled_since}` : "since the start (nothing is final yet)"}; positive amounts are owed to the operator.
          </p>
          <div class="table-wrap" tabindex={0} role="region" aria-label="Partners' prepaid and unsettled amounts (scrolls sideways)">
            <table>
              <thead>
                <tr>
                  <th scope="col">Partner</th>
                  <th scope="col" class="num">Prepaid points</th>
                  <th scope="col" class="num">Credit limit</th>
                  <th scope="col" class="num">Unsettled net</th>
                </tr>
              </thead>
              <tbody>
                {positions.partners.map((p) => (
                  <tr>
                    <th scope="row">{name(p.partner_id)}</th>
                    <td class="num">{p.prepaid_points === null ? "postpaid" : formatPoints(p.prepaid_points)}</td>
                    <td class="num">{p.credit_limit ? `${formatAmount(p.credit_limit, p.currency)} ${p.currency}` : "—"}</td>
                    <td class="num">
                      {formatAmount(p.unsettled_net_amount, p.currency)} {p.currency}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      </Page>,
    );
  }));

  app.get("/finance/reports/liability.csv", guarded(async (c) => {
    const range = reportRange(c, c.var.services.now());
    const report = await liabilityReport(c.var.services.db(), range.from, range.to);
    c.header("content-disposition", `attachment; filename="liability-${range.from}-${range.to}.csv"`);
    c.header("cache-control", "no-store");
    return c.body(liabilityCsv(report), 200, { "content-type": "text/csv; charset=utf-8" });
  }));

  app.get("/finance/reports/flows.csv", guarded(async (c) => {
    const range = reportRange(c, c.var.services.now());
    const report = await flowsReport(c.var.services.db(), range.from, range.to);
    c.header("content-disposition", `attachment; filename="flows-${range.from}-${range.to}.csv"`);
    c.header("cache-control", "no-store");
    return c.body(flowsCsv(report), 200, { "content-type": "text/csv; charset=utf-8" });
  }));

  app.get("/finance/runs", guarded(async (c, s) => {
    const runs = await listRuns(c.var.services.db(), 50);
    const last = monthsBack(new Date(c.var.services.now().getTime() - 31 * 86_400_000), 1);
    return html(
      c,
      <Page title="Settlement runs · Coalesce finance" nav={<Nav csrf={s.csrf} />}>
        <h1>Settlement runs</h1>
        <section class="card" aria-labelledby="new-h">
          <h2 id="new-h">Draft a run</h2>
          <form method="post" action="/finance/runs">
            <input type="hidden" name="csrf" value={s.csrf} />
            <p>
              <label for="period_start">Period start</label>
              <input id="period_start" name="period_start" type="date" required value={last.from} />
            </p>
            <p>
              <label for="period_end">Period end (exclusive)</label>
              <input id="period_end" name="period_end" type="date" required value={last.to} />
            </p>
            <button type="submit">Draft statements</button>
          </form>
        </section>
        <section class="card" aria-labelledby="runs-h">
          <h2 id="runs-h">Recent runs</h2>
          <ul class="plain">
            {runs.map((r) => (
              <li>
                <a href={`/finance/runs/${r.run_id}`}>
                  {r.period_start} – {r.period_end}
                </a>
                <span class={r.status === "final" ? "ok" : "muted"}>{r.status}</span>
              </li>
            ))}
          </ul>
        </section>
      </Page>,
    );
  }));

  app.post("/finance/runs", guarded(async (c, s) => {
    const form = await checkForm(c, s.csrf);
    const period = { period_start: String(form.period_start ?? ""), period_end: String(form.period_end ?? "") };
    if (!/^\d{4}-\d{2}-\d{2}$/.test(period.period_start) || !/^\d{4}-\d{2}-\d{2}$/.test(period.period_end))
      return html(c, <Message title="Check the dates" message="Give the period as two dates, the end exclusive." />, 422);
    try {
      const run = await c.var.services.db().transaction((tx) => createDraftRun(tx, period, s.sub, c.var.services.now()));
      return c.redirect(`/finance/runs/${run.run_id}`, 303);
    } catch (err) {
      if (err instanceof DomainError) return html(c, <Message title="The run was refused" message={err.detail} />, 422);
      throw err;
    }
  }));

  app.get("/finance/runs/:run_id", guarded(async (c, s) => {
    const run = await getRun(c.var.services.db(), runIdOf(c));
    const names = await partnerNames(c.var.services.db());
    const now = c.var.services.now();
    const closed = Date.parse(`${run.period_end}T00:00:00Z`) <= now.getTime();
    const notice = c.req.query("notice");
    return html(
      c,
      <Page title={`Run ${run.period_start} · Coalesce finance`} nav={<Nav csrf={s.csrf} />} wide>
        <h1>
          Run {run.period_start} – {run.period_end} <span data-testid="run-status">({run.status})</span>
        </h1>
        {notice ? (
          <p class="notice" role="status">
            {NOTICES[notice] ?? "The request was refused."}
          </p>
        ) : null}
        <RunDates run={run} now={now} />
        <section class="card">
          <RunTable run={run} names={names} />
          <p>
            <a class="button" href={`/finance/runs/${run.run_id}/statements.csv`} download>
              Download CSV
            </a>
          </p>
          {run.status === "draft" && closed ? (
            <form method="post" action={`/finance/runs/${run.run_id}/finalize`}>
              <input type="hidden" name="csrf" value={s.csrf} />
              <button type="submit">Finalize this period</button>
            </form>
          ) : null}
          {run.status === "draft" && !closed ? (
            <p class="muted" data-testid="not-closed">
              This period ends on {run.period_end}: draft it again to bring it up to date, and finalize it once it has ended.
            </p>
          ) : null}
        </section>
      </Page>,
    );
  }));

  app.post("/finance/runs/:run_id/finalize", guarded(async (c, s) => {
    await checkForm(c, s.csrf);
    const runId = runIdOf(c);
    try {
      await c.var.services.db().transaction((tx) => finalizeRun(tx, runId, s.sub, c.var.services.now(), c.var.services.config));
      return c.redirect(`/finance/runs/${runId}?notice=final`, 303);
    } catch (err) {
      if (err instanceof DomainError) return c.redirect(`/finance/runs/${runId}?notice=${err.code in NOTICES ? err.code : "refused"}`, 303);
      throw err;
    }
  }));

  app.get("/finance/runs/:run_id/statements.csv", guarded(async (c, s) => {
    const run = await getRun(c.var.services.db(), runIdOf(c));
    c.header("content-disposition", `attachment; filename="${run.run_id}-statements.csv"`);
    c.header("cache-control", "no-store");
    return c.body(statementsCsv(run), 200, { "content-type": "text/csv; charset=utf-8" });
  }));
}
