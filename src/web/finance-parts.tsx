/**
 * The finance pages' parts: messages, navigation, the liability chart (server-rendered SVG) and
 * a run's statement table. Routes and the session guard are in finance.tsx.
 */
import type { LiabilityMonth } from "../settlement/reports.js";
import type { RunView } from "../settlement/runs.js";
import { formatAmount, formatDate, formatPoints, Page } from "./layout.js";

export function Message(props: { title: string; message: string }) {
  return (
    <Page title={`${props.title} · Coalesce finance`}>
      <h1>{props.title}</h1>
      <section class="card">
        <p>{props.message}</p>
        <p class="muted">
          Get a new sign-in link with <code>npm run finance:login</code> (signed with your staff key).
        </p>
      </section>
    </Page>
  );
}

export function Nav(props: { csrf: string }) {
  return (
    <nav aria-label="Finance">
      <a href="/finance">Reports</a> · <a href="/finance/runs">Settlement runs</a> ·{" "}
      <form method="post" action="/finance/logout" class="inline">
        <input type="hidden" name="csrf" value={props.csrf} />
        <button type="submit" class="secondary">
          Sign out
        </button>
      </form>
    </nav>
  );
}

/** Closing liability per month as bars, issued and redeemed as lines: plain SVG, no script. */
export function LiabilityChart(props: { months: LiabilityMonth[] }) {
  const W = 720;
  const H = 240;
  const pad = 56;
  const max = Math.max(1, ...props.months.flatMap((m) => [m.points.closing, m.points.issued, m.points.redeemed]));
  const step = (W - 2 * pad) / Math.max(1, props.months.length);
  const y = (v: number) => yScaled(v);
  const line = (pick: (m: LiabilityMonth) => number) =>
    props.months.map((m, i) => `${(pad + step * i + step / 2).toFixed(1)},${y(pick(m)).toFixed(1)}`).join(" ");
  // A y-axis scale: four steps of a round size (1, 2 or 5 × 10ⁿ) that reach the maximum.
  const raw = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const unit = [1, 2, 5, 10].map((f) => f * magnitude).find((u) => u >= raw) ?? 10 * magnitude;
  const top = unit * 4;
  const yScaled = (v: number) => H - pad - ((H - 2 * pad) * Math.max(0, v)) / top;
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby="chart-title chart-desc">
      <title id="chart-title">Liability by month</title>
      <desc id="chart-desc">Bars: points outstanding at each month's close. Lines: points issued (blue) and redeemed (orange). The scale on the left is in points.</desc>
      {[0, 1, 2, 3, 4].map((k) => (
        <g>
          <line x1={pad} y1={yScaled(k * unit)} x2={W - pad} y2={yScaled(k * unit)} stroke={k === 0 ? "#5b6470" : "#e3e7ec"} />
          <text x={pad - 6} y={yScaled(k * unit) + 4} text-anchor="end" class="axis">
            {formatPoints(k * unit)}
          </text>
        </g>
      ))}
      {props.months.map((m, i) => (
        <g>
          <rect x={pad + step * i + step * 0.15} y={y(m.points.closing)} width={step * 0.7} height={H - pad - y(m.points.closing)} fill="#c9dcf2">
            <title>{`${m.month}: ${formatPoints(m.points.closing)} outstanding`}</title>
          </rect>
          <text x={pad + step * i + step / 2} y={H - pad + 16} text-anchor="middle" font-size="11" fill="#5b6470">
            {m.month.slice(2)}
          </text>
        </g>
      ))}
      <polyline points={line((m) => m.points.issued)} fill="none" stroke="#0b5cad" stroke-width="2" />
      <polyline points={line((m) => m.points.redeemed)} fill="none" stroke="#c25e00" stroke-width="2" stroke-dasharray="5 3" />
      <text x={pad} y={pad - 16} class="axis">
        points
      </text>
    </svg>
  );
}

export function monthsBack(now: Date, n: number): { from: string; to: string } {
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - (n - 1), 1));
  return { from: from.toISOString().slice(0, 10), to: to.toISOString().slice(0, 10) };
}

/** A run's statements: one row per partner (by name), amounts rounded to the currency's minor units, the currency once. */
export function RunTable(props: { run: RunView; names: Map<string, string> }) {
  return (
    <div class="table-wrap" tabindex={0} role="region" aria-label="Statements (scrolls sideways)">
      <table>
        <caption class="visually-hidden">Statements of run {props.run.run_id}</caption>
        <thead>
          <tr>
            <th scope="col">Partner</th>
            <th scope="col">Number</th>
            <th scope="col" class="num">Earned</th>
            <th scope="col" class="num">Reversed</th>
            <th scope="col" class="num">Burned</th>
            <th scope="col" class="num">Refunded</th>
            <th scope="col" class="num">Expired</th>
            <th scope="col">Currency</th>
            <th scope="col" class="num">Issuance</th>
            <th scope="col" class="num">Redemption</th>
            <th scope="col" class="num">Rewards</th>
            <th scope="col" class="num">Net</th>
          </tr>
        </thead>
        <tbody>
          {props.run.statements.map((s) => (
            <tr>
              <th scope="row">{props.names.get(s.partner_id) ?? s.partner_id}</th>
              <td>{s.number ?? "draft"}</td>
              <td class="num">{formatPoints(s.earned_points)}</td>
              <td class="num">{formatPoints(s.earn_reversed_points)}</td>
              <td class="num">{formatPoints(s.burned_points)}</td>
              <td class="num">{formatPoints(s.burn_refunded_points)}</td>
              <td class="num">{formatPoints(s.expired_points)}</td>
              <td>{s.currency}</td>
              <td class="num">{formatAmount(s.issuance_amount, s.currency)}</td>
              <td class="num">{formatAmount(s.redemption_amount, s.currency)}</td>
              <td class="num">{formatAmount(s.rewards_amount, s.currency)}</td>
              <td class="num" data-testid={`net-${s.partner_id}`}>
                {formatAmount(s.net_amount, s.currency)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted small">Net: positive when the partner owes the operator, negative when the operator owes the partner.</p>
    </div>
  );
}

/** When a run was drafted and finalized, and whether it can be finalized yet. */
export function RunDates(props: { run: RunView; now: Date }) {
  const { run } = props;
  return (
    <p class="muted" data-testid="run-dates">
      Drafted {formatDate(run.created_at)}
      {run.finalized_at ? ` · finalized ${formatDate(run.finalized_at)}` : ""}
      {run.status === "draft" && Date.parse(`${run.period_end}T00:00:00Z`) > props.now.getTime() ? ` · the period is still open (it ends ${run.period_end})` : ""}
    </p>
  );
}
