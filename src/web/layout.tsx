import type { Context } from "hono";
import type { Child } from "hono/jsx";
import { DomainError } from "../errors.js";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/env.js";
import { currencyExponent, roundHalfEven } from "../lib/money.js";

// One small stylesheet for the server-rendered pages: readable on a phone, visible focus, good contrast.
export const STYLESHEET = `
:root { --ink:#1b1f24; --muted:#5b6470; --line:#d8dde3; --accent:#0b5cad; --accent-ink:#fff; --bg:#f6f7f9; --card:#fff; --ok:#1d6b3a; --warn:#8a4b00; }
* { box-sizing: border-box; }
body { margin:0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--ink); background:var(--bg); }
header.top { background:var(--card); border-bottom:1px solid var(--line); padding:.75rem 1rem; display:flex; gap:1rem; align-items:center; justify-content:space-between; flex-wrap:wrap; }
header.top .brand { font-weight:700; letter-spacing:.02em; }
main { max-width: 56rem; margin: 0 auto; padding: 1rem; } main.wide { max-width: 80rem; }
.axis { font-size:11px; fill:#5b6470; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; } h2 { font-size: 1.15rem; margin: 0 0 .75rem; }
section.card { background:var(--card); border:1px solid var(--line); border-radius:.5rem; padding:1rem; margin-bottom:1rem; }
.stats { display:grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap:.75rem; margin:0; }
.stats div { border:1px solid var(--line); border-radius:.5rem; padding:.75rem; }
.stats dt { color:var(--muted); font-size:.875rem; } .stats dd { margin:0; font-size:1.5rem; font-weight:700; font-variant-numeric: tabular-nums; }
table { width:100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align:left; padding:.5rem .4rem; border-bottom:1px solid var(--line); vertical-align: top; }
td.num, th.num { text-align:right; }
.table-wrap { overflow-x:auto; }
button, .button { font: inherit; background:var(--accent); color:var(--accent-ink); border:0; border-radius:.375rem; padding:.6rem 1rem; cursor:pointer; min-height:44px; text-decoration:none; display:inline-block; }
button.secondary { background:transparent; color:var(--accent); border:1px solid var(--accent); }
button:focus-visible, a:focus-visible, input:focus-visible, select:focus-visible { outline:3px solid #f0a500; outline-offset:2px; }
input, select { font: inherit; padding:.5rem; border:1px solid var(--muted); border-radius:.375rem; min-height:44px; }
label { display:block; font-weight:600; margin-bottom:.25rem; }
.muted { color:var(--muted); } .ok { color:var(--ok); } .warn { color:var(--warn); }
.code { font: 700 1.75rem/1.2 ui-monospace, SFMono-Regular, Menlo, monospace; letter-spacing:.08em; }
progress { width:100%; height: .75rem; }
ul.plain { list-style:none; padding:0; margin:0; } ul.plain li { display:flex; justify-content:space-between; align-items:center; gap:1rem; padding:.5rem 0; border-bottom:1px solid var(--line); flex-wrap:wrap; }
.notice { border-left:4px solid var(--accent); padding:.5rem .75rem; background:#eef5fc; margin-bottom:1rem; }
.visually-hidden { position:absolute; width:1px; height:1px; overflow:hidden; clip:rect(0 0 0 0); white-space:nowrap; }
form.inline { display:inline; }
.chart { width:100%; height:auto; }
pre { overflow-x:auto; background:#f0f2f5; border:1px solid var(--line); border-radius:.375rem; padding:.75rem; font-size:.875rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; overflow-wrap:anywhere; }
article.guide { background:var(--card); border:1px solid var(--line); border-radius:.5rem; padding:1rem 1.25rem; }
article.guide h1 { margin-top:0; }
nav.portal { display:flex; flex-wrap:wrap; gap:0 .75rem; margin-right:auto; order:1; }
header.top form.inline { order:2; }
@media (max-width: 40rem) { header.top { row-gap:.25rem; padding-bottom:0; } nav.portal { order:3; flex-basis:100%; margin:0 -.25rem; } }
nav.portal a { color:var(--accent); text-decoration:none; min-height:44px; display:inline-flex; align-items:center; padding:0 .25rem; border-bottom:3px solid transparent; }
nav.portal a[aria-current="page"] { color:var(--ink); font-weight:700; border-bottom-color:var(--accent); }
.lead { font-size:1.05rem; margin:0 0 1rem; }
.small { font-size:.875rem; }
.back { margin:0 0 .25rem; }
.actions { display:flex; flex-wrap:wrap; gap:.75rem 1.25rem; align-items:center; margin:1rem 0 0; }
.tag { display:inline-block; font-size:.8rem; font-weight:600; line-height:1.4; padding:.1rem .55rem; border-radius:1rem; background:#eceff3; color:var(--ink); margin:0; }
.tag.ok { background:#e2f2e7; color:var(--ok); } .tag.warn { background:#fbeedd; color:var(--warn); }
.meta { margin:0 0 .35rem; display:flex; flex-wrap:wrap; gap:.5rem; align-items:center; }
.notice.error { border-left-color:#b42318; background:#fdeceb; }
.notice p { margin:.25rem 0; }
ul.rewards { list-style:none; padding:0; margin:0; display:grid; grid-template-columns:repeat(auto-fill, minmax(min(100%, 16rem), 1fr)); gap:1rem; }
.reward { background:var(--card); border:1px solid var(--line); border-radius:.5rem; padding:1rem; display:flex; flex-direction:column; gap:.4rem; }
.reward > * { margin:0; }
.reward > .tag { align-self:flex-start; }
article.card { background:var(--card); border:1px solid var(--line); border-radius:.5rem; padding:1rem; margin-bottom:1rem; }
.button.secondary { background:transparent; color:var(--accent); border:1px solid var(--accent); }
.reward h2 { font-size:1.1rem; }
.reward.affordable { border-color:var(--ok); box-shadow:inset 0 4px 0 var(--ok); }
.reward .push { margin-top:auto; padding-top:.5rem; }
.price { font-size:1.25rem; font-weight:700; font-variant-numeric:tabular-nums; }
.terms { color:var(--muted); }
dl.summary { display:grid; grid-template-columns:1fr auto; gap:.4rem 1rem; margin:0 0 1rem; max-width:28rem; font-variant-numeric:tabular-nums; }
dl.summary dt { color:var(--muted); } dl.summary dd { margin:0; font-weight:600; text-align:right; }
.label { font-weight:600; margin:0 0 .35rem; }
ul.qty-choices { list-style:none; padding:0; margin:0 0 1rem; display:flex; flex-wrap:wrap; gap:.5rem; }
ul.qty-choices a { display:inline-flex; align-items:center; justify-content:center; min-width:44px; min-height:44px; border:1px solid var(--accent); border-radius:.375rem; color:var(--accent); text-decoration:none; font-weight:600; }
ul.qty-choices a[aria-current="true"] { background:var(--accent); color:var(--accent-ink); }
.field { margin:0 0 1rem; } .field input { width:100%; max-width:24rem; display:block; margin-bottom:.25rem; }
.field-error { display:block; color:#b42318; font-weight:600; }
button.danger { background:#b42318; }
.redemption.highlight { border-color:var(--accent); box-shadow:0 0 0 2px var(--accent); }
.redemption h2 { margin-bottom:.25rem; }
ul.vouchers { list-style:none; padding:0; margin:.75rem 0 0; }
.voucher { display:flex; flex-wrap:wrap; gap:.5rem 1.25rem; align-items:center; border-top:1px solid var(--line); padding:.75rem 0; }
.voucher p { margin:.2rem 0; }
.qr { width:11rem; height:11rem; flex:none; }
.code.voucher-code { font-size:1.3rem; letter-spacing:.05em; overflow-wrap:anywhere; }
form.filters { display:flex; flex-wrap:wrap; gap:0 1rem; align-items:flex-end; margin-bottom:.5rem; }
form.filters .field { margin:0 0 .75rem; } form.filters select { min-width:10rem; }
table.history .ref { display:block; }
table.history tr.held td { background:#fbf6ee; }
@media (max-width: 40rem) {
  table.history thead { position:absolute; width:1px; height:1px; overflow:hidden; clip:rect(0 0 0 0); }
  table.history, table.history tbody, table.history tr, table.history td { display:block; width:100%; }
  table.history tr { border-bottom:1px solid var(--line); padding:.5rem 0; }
  table.history td { border:0; padding:.1rem 0; display:flex; justify-content:space-between; gap:1rem; text-align:left; }
  table.history td::before { content:attr(data-label); color:var(--muted); font-size:.875rem; flex:none; }
  table.history td[data-label="What"] { display:block; } table.history td[data-label="What"]::before { display:block; }
}
.receive-code { display:flex; flex-wrap:wrap; gap:.5rem 1.25rem; align-items:center; margin-bottom:1rem; }
.receive-code p { margin:.2rem 0; } .receive-code .code { overflow-wrap:anywhere; }
dd.mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; letter-spacing:.05em; }
.voucher.used .voucher-code, .voucher.cancelled .voucher-code, .voucher.expired .voucher-code { color:var(--muted); text-decoration:line-through; }
`;

export const PAGE_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** `wide`: pages of wide tables (finance) use more of a large screen. */
export function Page(props: { title: string; heading?: string; nav?: Child; wide?: boolean; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{props.title}</title>
        <link rel="stylesheet" href="/assets/app.css" />
      </head>
      <body>
        <header class="top">
          <span class="brand">Coalesce</span>
          {props.nav}
        </header>
        <main id="main" class={props.wide ? "wide" : undefined}>
          {props.children}
        </main>
      </body>
    </html>
  );
}

export function registerStylesheet(app: OpenAPIHono<AppEnv>) {
  app.get("/assets/app.css", (c) => {
    c.header("content-type", "text/css; charset=utf-8");
    c.header("cache-control", "public, max-age=300");
    return c.body(STYLESHEET);
  });
}

export const formatPoints = (n: number) => n.toLocaleString("en-US");
export const formatDate = (iso: string) => iso.slice(0, 16).replace("T", " ") + " UTC";

/** A decimal amount for display: rounded half-even to the currency's minor units, grouped (12,345.68). */
export function formatAmount(value: string, currency: string): string {
  const rounded = roundHalfEven(value, currencyExponent(currency));
  const [whole, frac] = rounded.replace("-", "").split(".");
  const grouped = whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${rounded.startsWith("-") ? "-" : ""}${grouped}${frac ? `.${frac}` : ""}`;
}

/** A server-rendered page: strict CSP, never cached. */
export function html(c: Context<AppEnv>, body: Child, status = 200) {
  c.header("content-security-policy", PAGE_CSP);
  c.header("cache-control", "no-store");
  return c.html("<!doctype html>" + String(body), status as 200);
}

/**
 * Same-origin form posts only: the browser's Sec-Fetch-Site (or Origin; "null" under
 * no-referrer) must say so, and the form's token must be the one derived from the session.
 */
export async function checkForm(c: Context<AppEnv>, expectedCsrf: string): Promise<Record<string, string>> {
  const origin = c.req.header("origin");
  const site = c.req.header("sec-fetch-site");
  if ((origin && origin !== "null" && origin !== new URL(c.req.url).origin) || (site && site !== "same-origin"))
    throw new DomainError("role_forbidden", "Cross-site form posts are refused.");
  const form = (await c.req.parseBody()) as Record<string, string>;
  if (typeof form.csrf !== "string" || form.csrf !== expectedCsrf) throw new DomainError("role_forbidden", "The form has expired; reload the page.");
  return form;
}
