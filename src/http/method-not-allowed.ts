import type { Hono } from "hono";

interface Pattern {
  regex: RegExp;
  methods: Set<string>;
}

/** Compiles the app's registered routes once, to tell a 405 (known path) from a 404. */
export function allowedMethodsFinder(app: Hono<any>): (path: string) => string[] {
  let patterns: Pattern[] | undefined;
  const compile = () => {
    const byPath = new Map<string, Set<string>>();
    for (const r of app.routes) {
      if (r.method === "ALL" || r.path.includes("*")) continue; // middleware
      const set = byPath.get(r.path) ?? new Set<string>();
      set.add(r.method.toUpperCase());
      if (r.method.toUpperCase() === "GET") set.add("HEAD");
      byPath.set(r.path, set);
    }
    return [...byPath].map(([path, methods]) => ({
      regex: new RegExp(
        "^" + path.split("/").map((seg) => (seg.startsWith(":") ? "[^/]+" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))).join("/") + "$",
      ),
      methods,
    }));
  };
  return (path) => {
    patterns ??= compile();
    const allowed = new Set<string>();
    for (const p of patterns) if (p.regex.test(path)) for (const m of p.methods) allowed.add(m);
    return [...allowed].sort();
  };
}
