/**
 * Every answer any test gets from the app is checked against the served OpenAPI document: a
 * documented route answering with a status, a problem code or a body its operation does not
 * document fails the test that made the request. Pages and undocumented paths are left alone.
 */
import { responseChecker, type OpenApiDoc } from "./openapi-check.js";

type Requestable = { request: (input: string | Request | URL, init?: RequestInit, ...rest: never[]) => Response | Promise<Response> };

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
}

function operations(doc: OpenApiDoc): Operation[] {
  const ops: Operation[] = [];
  for (const [template, methods] of Object.entries(doc.paths)) {
    const pattern = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`);
    for (const method of Object.keys(methods)) ops.push({ method: method.toUpperCase(), template, pattern });
  }
  // Literal segments win over parameters (`/v1/earn/quote` before `/v1/earn/{x}`), as in the router.
  return ops.sort((a, b) => b.template.replace(/\{[^}]+\}/g, "").length - a.template.replace(/\{[^}]+\}/g, "").length);
}

export function checkAnswersAgainstDocument<T extends Requestable>(app: T): T {
  const original = app.request.bind(app);
  let checker: { check: ReturnType<typeof responseChecker>; ops: Operation[] } | undefined;
  const load = async () => {
    if (!checker) {
      const doc = (await (await original("/openapi.json")).json()) as OpenApiDoc;
      checker = { check: responseChecker(doc), ops: operations(doc) };
    }
    return checker;
  };
  const request = async (input: string | Request | URL, init?: RequestInit, ...rest: never[]) => {
    const res = await original(input, init, ...rest);
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url, "http://coalesce.test");
    const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    if (!url.pathname.startsWith("/v1/") && !url.pathname.startsWith("/.well-known/") && url.pathname !== "/health") return res;
    const { check, ops } = await load();
    const op = ops.find((o) => o.method === method && o.pattern.test(url.pathname));
    if (!op) return res; // 404/405 on paths and methods the document does not have
    const type = res.headers.get("content-type");
    const text = await res.clone().text();
    let body: unknown = text;
    if (type && /json/.test(type) && text !== "") {
      try {
        body = JSON.parse(text);
      } catch {
        throw new Error(`${method} ${url.pathname} answered ${res.status} with invalid JSON`);
      }
    }
    if (res.status === 500) throw new Error(`${method} ${url.pathname} answered 500: ${text.slice(0, 300)}`);
    const mismatch = check(method, op.template, res.status, type, body);
    if (mismatch) throw new Error(`answer not as documented: ${method} ${url.pathname}${url.search}: ${mismatch}; body ${text.slice(0, 300)}`);
    return res;
  };
  app.request = request as T["request"];
  return app;
}
