import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/env.js";
import type { ErrorCode } from "../errors.js";
import { PROBLEM_CATALOG, PROBLEM_CODES } from "../http/problem-catalog.js";
import { problemResponse, STATUS_BY_CODE } from "../http/problem.js";
import { html, Page } from "./layout.js";

const isCode = (value: string): value is ErrorCode => Object.hasOwn(PROBLEM_CATALOG, value);

function CodePage(props: { code: ErrorCode }) {
  const info = PROBLEM_CATALOG[props.code];
  return (
    <Page title={`${info.title} · Coalesce API problems`} nav={<a href="/problems">All problem codes</a>}>
      <h1>{info.title}</h1>
      <p>
        <code>{props.code}</code> · HTTP {STATUS_BY_CODE[props.code]}
      </p>
      <section class="card">
        <dl class="stats">
          <div>
            <dt>HTTP status</dt>
            <dd>{STATUS_BY_CODE[props.code]}</dd>
          </div>
          <div>
            <dt>Retry unchanged?</dt>
            <dd>{info.retry ? "Yes, later" : "No"}</dd>
          </div>
        </dl>
      </section>
      <section class="card">
        <h2>What it means</h2>
        <p>{info.meaning}</p>
        <h2>What to do</h2>
        <p>{info.action}</p>
        <p class="muted">
          Every problem answer carries a <code>request_id</code>; quote it when you contact the operator. The partner guide explains <a href="/docs/guide/errors">errors</a>,
          retries and <a href="/docs/guide/idempotency">idempotency</a>.
        </p>
      </section>
    </Page>
  );
}

function IndexPage() {
  return (
    <Page title="Problem codes · Coalesce API" nav={<a href="/docs">API reference</a>}>
      <h1>Problem codes</h1>
      <p>Every error is RFC 9457 problem+json with one of these codes; its <code>type</code> links here.</p>
      <section class="card table-wrap">
        <table>
          <caption class="visually-hidden">Problem codes by HTTP status</caption>
          <thead>
            <tr>
              <th scope="col" class="num">Status</th>
              <th scope="col">Code</th>
              <th scope="col">Meaning</th>
            </tr>
          </thead>
          <tbody>
            {[...PROBLEM_CODES]
              .sort((a, b) => STATUS_BY_CODE[a] - STATUS_BY_CODE[b] || a.localeCompare(b))
              .map((code) => (
                <tr>
                  <td class="num">{STATUS_BY_CODE[code]}</td>
                  <td>
                    <a href={`/problems/${code}`}>{code}</a>
                  </td>
                  <td>{PROBLEM_CATALOG[code].meaning}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </section>
    </Page>
  );
}

/** The pages problem `type` URIs point at: what each code means and what to do about it. */
export function registerProblemPages(app: OpenAPIHono<AppEnv>) {
  app.get("/problems", (c) => html(c, <IndexPage />));
  app.get("/problems/:code", (c) => {
    const code = c.req.param("code");
    if (!isCode(code)) return problemResponse(c, "not_found", "No such problem code.");
    return html(c, <CodePage code={code} />);
  });
}
