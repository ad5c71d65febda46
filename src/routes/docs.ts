import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/env.js";
import { problemResponse } from "../http/problem.js";
import type { Config } from "../config.js";
import { DOCS_SIGNING_SCRIPT } from "./docs-signing.js";

/** Where Swagger UI's own files are served from: Workers static assets, or node_modules on Node. */
export const DOCS_ASSET_PREFIX = "/docs/assets/";
export const DOCS_ASSET_FILES = ["swagger-ui-bundle.js", "swagger-ui.css"] as const;
/** The page's own script: the key panel, and the request interceptor that signs every "Try it out" call. */
export const DOCS_SCRIPT_PATH = "/docs/signing.js";
/** The page's icon (served by the app, so the browser's own favicon request does not 404). */
export const DOCS_ICON_PATH = "/docs/icon.svg";
const ICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="15" fill="#1b7f4f"/><circle cx="16" cy="16" r="9" fill="none" stroke="#fff" stroke-width="4" stroke-dasharray="42 15"/></svg>';
/** Development only: one demo partner's private key, for the page's "Use the local demo key". */
export const DOCS_DEV_KEY_PATH = "/docs/dev-key";

/** A demo partner's development key as `GET /docs/dev-key` hands it to the docs page. */
export interface DocsDevKey {
  /** The partner id: the tokens' `iss`. */
  issuer: string;
  /** Private JWK with `kid` and `alg`. */
  privateJwk: Record<string, unknown>;
}

/**
 * Where the development key comes from. Only the Node entry can supply one (`npm start` reads the
 * demo partner's key from `.data/keys/`); Workers have no local key files and never mount the route.
 * Returns null when there is no key to offer.
 */
export type DocsDevKeySource = () => Promise<DocsDevKey | null>;

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);

function page(config: Config): string {
  const devKey = config.environment === "development" ? ` data-dev-key="${escapeHtml(DOCS_DEV_KEY_PATH)}"` : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Coalesce API reference</title>
<link rel="icon" type="image/svg+xml" href="${DOCS_ICON_PATH}">
<link rel="stylesheet" href="${DOCS_ASSET_PREFIX}swagger-ui.css">
<style>
.cz { box-sizing: border-box; max-width: 1460px; margin: 0 auto; padding: 16px 20px 0; font-family: sans-serif; color: #3b4151; }
.cz h1 { font-size: 1.6rem; margin: 0 0 6px; }
.cz h2 { font-size: 1.15rem; margin: 0 0 6px; }
.cz p { margin: 6px 0; line-height: 1.45; }
.cz code { background: #f0f0f0; padding: 0 3px; border-radius: 3px; }
.cz-signing { border: 1px solid #d0d7de; border-radius: 6px; padding: 12px 16px; margin-top: 12px; background: #fafbfc; }
.cz-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 8px 16px; margin: 8px 0; }
.cz-field { display: flex; flex-direction: column; gap: 3px; }
.cz label, .cz legend { font-weight: 600; font-size: .9rem; }
.cz fieldset { border: 0; padding: 0; margin: 0; display: flex; gap: 14px; align-items: center; }
.cz fieldset label { font-weight: 400; }
.cz input[type=text], .cz select, .cz textarea { font: 13px monospace; padding: 5px 6px; border: 1px solid #8c959f; border-radius: 4px; background: #fff; }
.cz textarea { width: 100%; box-sizing: border-box; }
.cz .cz-check { font-weight: 400; }
.cz-actions { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; }
.cz button { font: 600 .9rem sans-serif; padding: 6px 12px; border-radius: 4px; border: 1px solid #49cc90; background: #fff; color: #1b7f4f; cursor: pointer; }
.cz button.cz-primary { background: #49cc90; color: #fff; }
.cz button:focus-visible, .cz input:focus-visible, .cz textarea:focus-visible, .cz select:focus-visible { outline: 3px solid #1f6feb; outline-offset: 1px; }
.cz [hidden] { display: none !important; }
.cz-status { font-weight: 600; }
.cz-status[data-state=ready] { color: #1b7f4f; }
.cz-status[data-state=error] { color: #b3261e; }
.cz-log { font: 12px monospace; color: #57606a; overflow-wrap: anywhere; }
</style>
</head>
<body>
<header class="cz">
<h1>Coalesce API reference</h1>
<p>Every partner and staff call is a signed request: a fresh, single-use token (JWS, <code>typ</code> <code>coalition-request+jwt</code>) bound to the method, the path and query as sent, and the SHA-256 of the body.
How to sign, step by step with a worked example, is in the <a href="/docs/guide/signing">partner guide</a> (<a href="/docs/guide">all guide pages</a>); every error code is explained under <a href="/problems">/problems</a>. The raw OpenAPI document is at <a href="/openapi.json">/openapi.json</a>.</p>
</header>
<div class="cz">
<section class="cz-signing" id="signing" aria-labelledby="signing-title" data-audience="${escapeHtml(config.apiAudience)}" data-operator-issuer="${escapeHtml(config.operatorIssuer)}"${devKey}>
<h2 id="signing-title">Sign “Try it out” calls in this browser</h2>
<p>Paste a private JWK (with <code>kid</code> and <code>alg</code>: <code>ES256</code>, or <code>EdDSA</code> where this browser supports Ed25519) and the issuer it is registered for. The page then signs every call it sends with WebCrypto: a new token per request, valid 60 seconds. The key stays in this tab and is never sent to the server; a POST without an <code>Idempotency-Key</code> gets a random one.</p>
<form id="key-form" novalidate>
<fieldset>
<legend>Caller</legend>
<label><input type="radio" name="caller" value="partner" checked> Partner</label>
<label><input type="radio" name="caller" value="staff"> Staff (operator)</label>
</fieldset>
<div class="cz-grid">
<div class="cz-field"><label for="key-issuer" id="key-issuer-label">Issuer (iss): your partner id</label><input type="text" id="key-issuer" autocomplete="off" spellcheck="false" autocapitalize="off"></div>
<div class="cz-field" data-staff hidden><label for="key-sub">Staff member (sub)</label><input type="text" id="key-sub" autocomplete="off" spellcheck="false" autocapitalize="off"></div>
<div class="cz-field" data-staff hidden><label for="key-role">Role</label><select id="key-role"><option value="admin">admin</option><option value="finance">finance</option></select></div>
<div class="cz-field"><label for="key-audience">Audience (aud)</label><input type="text" id="key-audience" autocomplete="off" spellcheck="false" autocapitalize="off"></div>
</div>
<div class="cz-field"><label for="key-jwk">Private JWK</label><textarea id="key-jwk" rows="4" autocomplete="off" spellcheck="false" autocapitalize="off" aria-describedby="key-jwk-hint" placeholder='{"kty":"EC","crv":"P-256","x":"…","y":"…","d":"…","kid":"…","alg":"ES256"}'></textarea>
<span id="key-jwk-hint">The box is cleared once the key is loaded; only a non-extractable WebCrypto key stays in memory.</span></div>
<label class="cz-check"><input type="checkbox" id="key-remember"> Keep the key for this tab after a reload (sessionStorage)</label>
<div class="cz-actions">
<button type="submit" class="cz-primary">Use this key</button>
<button type="button" id="key-forget">Forget the key</button>
<button type="button" id="key-dev" hidden>Use the local demo key</button>
</div>
</form>
<p class="cz-status" id="key-status" role="status" aria-live="polite">No key loaded: calls go unsigned.</p>
<p class="cz-log" id="sign-log" aria-live="polite"></p>
</section>
</div>
<noscript><p class="cz">The interactive reference needs JavaScript. The raw OpenAPI document is at <a href="/openapi.json">/openapi.json</a>.</p></noscript>
<main id="swagger-ui" aria-label="Operations"></main>
<script src="${DOCS_ASSET_PREFIX}swagger-ui-bundle.js"></script>
<script src="${DOCS_SCRIPT_PATH}"></script>
</body>
</html>`;
}

// Everything is same-origin: no CDN, no inline script.
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function registerDocs(app: OpenAPIHono<AppEnv>) {
  app.get("/docs", (c) => {
    c.header("content-security-policy", CSP);
    c.header("cache-control", "no-store");
    return c.html(page(c.var.services.config));
  });
  app.get(DOCS_SCRIPT_PATH, (c) => {
    c.header("content-type", "text/javascript; charset=utf-8");
    c.header("cache-control", "public, max-age=300");
    return c.body(DOCS_SIGNING_SCRIPT);
  });
  app.get(DOCS_ICON_PATH, (c) => {
    c.header("content-type", "image/svg+xml");
    c.header("cache-control", "public, max-age=86400");
    return c.body(ICON);
  });
}

/** Loopback names only: a page on another name (DNS rebinding onto a local server) never gets the key. */
function isLoopbackUrl(url: string): boolean {
  const name = new URL(url).hostname; // as the URL parser normalises it: 127.1 → 127.0.0.1, [::1]
  return name === "localhost" || name === "[::1]" || /^127(?:\.\d{1,3}){3}$/.test(name);
}

/**
 * `GET /docs/dev-key`: a demo partner's private development key, so a newcomer's first "Try it
 * out" works with one click. Mounted only by an entry that has a key to offer (`npm start` on
 * Node), and even then answered only when ENVIRONMENT is development and the request names a
 * loopback host; everything else is the same 404 as an unknown path.
 */
export function registerDocsDevKey(app: OpenAPIHono<AppEnv>, source: DocsDevKeySource) {
  app.get(DOCS_DEV_KEY_PATH, async (c) => {
    const notFound = () => problemResponse(c, "not_found", "No such resource.");
    if (c.var.services.config.environment !== "development" || !isLoopbackUrl(c.req.url)) return notFound();
    const key = await source();
    if (!key) return notFound();
    c.header("cache-control", "no-store");
    return c.json({
      issuer: key.issuer,
      private_jwk: key.privateJwk,
      note: "A local demo partner's development key (ENVIRONMENT=development only). Never use it elsewhere.",
    });
  });
}
