import type { OpenAPIHono } from "@hono/zod-openapi";
import { Marked, type Tokens } from "marked";
import { raw } from "hono/html";
import type { AppEnv } from "../http/env.js";
import { GUIDE_PAGES } from "../generated/guide.js";
import { html, Page } from "./layout.js";

/** GitHub's heading anchors, so links written for the repository (`signing.md#claims`) work here too. */
export function headingSlug(text: string): string {
  return text
    .toLowerCase()
    .replace(/<[^>]+>/g, "")
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .trim()
    .replace(/\s/g, "-");
}

/** `signing.md#x` → `/docs/guide/signing#x`; `README.md` → `/docs/guide`. Other links stay as written. */
function guideHref(href: string): string {
  const match = /^([a-z0-9-]+|README)\.md(#.*)?$/i.exec(href);
  if (!match) return href;
  const page = match[1] === "README" ? "" : `/${match[1]}`;
  return GUIDE_PAGES[match[1] === "README" ? "index" : match[1]!] === undefined ? href : `/docs/guide${page}${match[2] ?? ""}`;
}

const markdown = new Marked({ gfm: true });
markdown.use({
  walkTokens(token) {
    if (token.type === "link") (token as Tokens.Link).href = guideHref((token as Tokens.Link).href);
  },
  renderer: {
    heading({ tokens, depth, text }) {
      return `<h${depth} id="${headingSlug(text)}">${this.parser.parseInline(tokens)}</h${depth}>\n`;
    },
    code({ text, lang }) {
      // Long lines scroll inside the block; tabindex lets keyboard users scroll it too.
      const escaped = text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
      const language = lang ? ` class="language-${lang.replace(/[^a-z0-9-]/gi, "")}"` : "";
      return `<pre tabindex="0"><code${language}>${escaped}</code></pre>\n`;
    },
    table(token) {
      // Wide tables scroll inside their box on a phone instead of widening the page.
      const head = token.header.map((cell) => `<th scope="col">${this.parser.parseInline(cell.tokens)}</th>`).join("");
      const rows = token.rows.map((row) => `<tr>${row.map((cell) => `<td>${this.parser.parseInline(cell.tokens)}</td>`).join("")}</tr>`).join("\n");
      return `<div class="table-wrap" tabindex="0"><table><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></div>\n`;
    },
  },
});

const rendered = new Map<string, { title: string; body: string }>();
function renderPage(name: string): { title: string; body: string } | undefined {
  const source = GUIDE_PAGES[name];
  if (source === undefined) return undefined;
  let page = rendered.get(name);
  if (!page) {
    const title = /^# (.+)$/m.exec(source)?.[1] ?? "Partner guide";
    page = { title, body: markdown.parse(source, { async: false }) };
    rendered.set(name, page);
  }
  return page;
}

const NAV = (
  <nav aria-label="Guide">
    <a href="/docs/guide">Guide</a> · <a href="/docs">API reference</a> · <a href="/problems">Problem codes</a>
  </nav>
);

/** The partner guide (docs/*.md in the repository), served as pages next to the API reference. */
export function registerGuide(app: OpenAPIHono<AppEnv>) {
  const serve = (name: string) =>
    app.get(name === "index" ? "/docs/guide" : `/docs/guide/${name}`, (c) => {
      const page = renderPage(name)!;
      return html(
        c,
        <Page title={`${page.title} · Coalesce partner guide`} nav={NAV}>
          <article class="guide">{raw(page.body)}</article>
        </Page>,
      );
    });
  for (const name of Object.keys(GUIDE_PAGES)) serve(name);
}
