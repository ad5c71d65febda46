/** Figure 7: the Worker bundle's cold start in workerd (Miniflare): process start to the first answer. */
import { join } from "node:path";
import { Miniflare } from "miniflare";

export async function coldStartMs(bundleDir: string): Promise<{ startMs: number; firstRequestMs: number }> {
  const t0 = performance.now();
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(bundleDir, "worker.js"),
    modulesRoot: bundleDir,
    compatibilityDate: "2026-04-20",
    compatibilityFlags: ["nodejs_compat"],
    bindings: { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none", ENVIRONMENT: "test" },
  });
  await mf.ready;
  const t1 = performance.now();
  const res = await mf.dispatchFetch("http://coalesce.test/openapi.json");
  await res.arrayBuffer();
  const t2 = performance.now();
  await mf.dispose();
  if (res.status !== 200) throw new Error(`cold start request answered ${res.status}`);
  return { startMs: t1 - t0, firstRequestMs: t2 - t1 };
}
