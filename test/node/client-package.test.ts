/**
 * The signing client as partners get it: the files generated from the served OpenAPI document are
 * the committed ones; the package builds, packs with only what it should ship, installs into a
 * fresh project from its tarball (jose from the npm cache or registry), and — imported there as
 * "@coalesce/client" by a plain `node` process — enrols a member and earns against a real server,
 * types a consumer's calls from the document, and verifies a real webhook with its example.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPERATIONS, PartnerClient } from "../../src/client/index.js";
import { serveNode, type RunningServer } from "../../src/entry/node.js";
import { deliverDueEvents } from "../../src/events/deliver.js";
import { createHarness, newKeyPair, type Harness, type TestPartner } from "../support/harness.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const PKG = join(ROOT, "packages", "client");
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
const GENERATED = ["openapi.json", "src/api.ts", "src/operations.ts"];

/** The environment for child npm and node runs: without what `npm run`/`npm test` put there about this repository. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_(lifecycle_|package_|command$|config_local_prefix$)/i.test(k) || k === "INIT_CWD" || k === "NODE_OPTIONS") continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();

/** Runs a command without blocking this process (the server it talks to lives here). */
function run(command: string, args: string[], options: { cwd: string; env?: Record<string, string>; timeoutMs?: number }): Promise<Ran> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: childEnv(options.env), stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} did not finish in ${options.timeoutMs} ms\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 120_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

function ok(r: Ran, what: string): Ran {
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r;
}

const npm = (args: string[], cwd: string, timeoutMs = 180_000) => run(process.platform === "win32" ? "npm.cmd" : "npm", args, { cwd, timeoutMs });

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "coalesce-client-"));
});
afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

describe("generated from the served document", () => {
  it("openapi.json, api.ts and operations.ts are what `npm run client:generate` writes now", async () => {
    const out = join(work, "generated");
    ok(await run(process.execPath, ["--import", "tsx", "scripts/openapi.ts", "--out", out], { cwd: ROOT, timeoutMs: 120_000 }), "scripts/openapi.ts");
    for (const file of GENERATED) {
      const committed = readFileSync(join(PKG, file), "utf8");
      const fresh = readFileSync(join(out, file), "utf8");
      if (fresh === committed) continue;
      const a = committed.split("\n");
      const b = fresh.split("\n");
      const line = a.findIndex((l, i) => l !== b[i]);
      expect.fail(
        `packages/client/${file} is out of date with the served document: run \`npm run client:generate\`\n` +
          `first difference at line ${line + 1}:\n  committed: ${a[line] ?? "(end)"}\n  now:       ${b[line] ?? "(end)"}`,
      );
    }
  });
});

describe("PartnerClient's convenience methods", () => {
  it("each sends the operation of its own name, as the document routes it", async () => {
    const sent: { method: string; target: string }[] = [];
    const { privateJwk } = await newKeyPair("shape-k1");
    const client = new PartnerClient({
      baseUrl: "http://client.test",
      issuer: "shape",
      privateJwk,
      fetch: async (input, init) => {
        sent.push({ method: String(init.method), target: input.slice("http://client.test".length) });
        return new Response(null, { status: 204 });
      },
    });
    const calls: Record<string, () => Promise<unknown>> = {
      enrolMember: () => client.enrolMember({ external_ref: "x" }),
      getMember: () => client.getMember("ext:a b"),
      quoteEarn: () => client.quoteEarn({ member: "m", amount_minor: 1, currency: "EUR", reference: "r" }),
      createEarn: () => client.createEarn({ member: "m", amount_minor: 1, currency: "EUR", reference: "r" }),
      createBurn: () => client.createBurn({ member: "m", points: 1, reference: "r" }),
      createHold: () => client.createHold({ member: "m", points: 1, reference: "r" }),
      captureHold: () => client.captureHold("hold_1"),
      voidHold: () => client.voidHold("hold_1"),
      createReversal: () => client.createReversal("txn_1", { points: 1, reference: "r" }),
      listTransactions: () => client.listTransactions({ member: "ext:a", limit: 5 }),
      getTransaction: () => client.getTransaction("txn_1"),
      createLinkCode: () => client.createLinkCode("m"),
      createLink: () => client.createLink({ code: "c", external_ref: "x" }),
      deleteLink: () => client.deleteLink("m"),
      createPortalSession: () => client.createPortalSession("m"),
      createReceiveCode: () => client.createReceiveCode("m"),
      createTransfer: () => client.createTransfer("m", { code: "c", points: 1, reference: "r" }),
      getReferralCode: () => client.getReferralCode("m"),
      createActivity: () => client.createActivity({ member: "m", activity: "review", reference: "r" }),
    };
    const methods = Object.getOwnPropertyNames(PartnerClient.prototype).filter((n) => n !== "constructor");
    expect(methods.sort()).toEqual(Object.keys(calls).sort());
    const routes = OPERATIONS as Record<string, { method: string; path: string } | undefined>;
    for (const [name, call] of Object.entries(calls)) {
      sent.length = 0;
      await call();
      const route = routes[name];
      expect(route, `the document has no operation ${name}: rename PartnerClient.${name} after it`).toBeDefined();
      const pattern = new RegExp(`^${route!.path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{[^}]+\\?\}/g, "[^/?]+")}(\\?.*)?$`);
      expect(sent[0]!.method, name).toBe(route!.method);
      expect(sent[0]!.target, name).toMatch(pattern);
    }
    expect(sent.length).toBe(1);
  });
});

describe("@coalesce/client from its tarball", () => {
  let h: Harness;
  let server: RunningServer;
  let partner: TestPartner;
  let keyFile: string;
  let project: string;
  let tarball: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    h = await createHarness();
    server = await serveNode({ config: h.config, handle: h.db.handle, port: 0, jobs: false });
    partner = await h.partner();
    mkdirSync(join(work, "keys"), { mode: 0o700 });
    keyFile = join(work, "keys", `${partner.id}.private.jwk.json`);
    writeFileSync(keyFile, JSON.stringify(partner.privateJwk), { mode: 0o600 });
    chmodSync(keyFile, 0o600);
    env = { COALESCE_URL: server.url, COALESCE_PARTNER: partner.id, COALESCE_KEY_FILE: keyFile };
  });
  afterAll(async () => {
    await server?.close();
    await h?.close();
  });

  it("builds with tsc and packs dist, README and examples only", async () => {
    rmSync(join(PKG, "dist"), { recursive: true, force: true });
    ok(await run(process.execPath, [TSC, "-p", PKG], { cwd: ROOT, timeoutMs: 120_000 }), "tsc -p packages/client");

    const packDir = join(work, "pack");
    mkdirSync(packDir);
    const packed = ok(await npm(["pack", "--ignore-scripts", "--json", "--pack-destination", packDir], PKG), "npm pack");
    const [info] = JSON.parse(packed.stdout) as { name: string; version: string; filename: string; files: { path: string }[] }[];
    expect(info!.name).toBe("@coalesce/client");
    tarball = join(packDir, info!.filename);

    const listing = ok(await run("tar", ["-tzf", tarball], { cwd: work }), "tar -tzf").stdout.split("\n").filter(Boolean);
    const files = listing.map((f) => f.replace(/^package\//, ""));
    for (const f of ["package.json", "README.md", "dist/index.js", "dist/index.d.ts", "dist/operations.js", "dist/api.d.ts", "examples/earn.mjs", "examples/verify-webhook.mjs"])
      expect(files, f).toContain(f);
    const unwanted = files.filter((f) => /^src\/|^test\/|\.test\.|\.spec\.|tsconfig|openapi\.json$|\.ts$(?<!\.d\.ts)|jwk|\.pem$|\.key$|private/i.test(f));
    expect(unwanted, "nothing but the build, README and examples").toEqual([]);
    expect(info!.files.map((f) => f.path).sort()).toEqual([...files].sort());

    const manifest = JSON.parse(readFileSync(join(PKG, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    expect(manifest.dependencies).toEqual({ jose: expect.stringMatching(/^\^6\./) });
  });

  it("installs into a fresh project and, run by node, enrols a member and earns against the server", async () => {
    expect(tarball, "packed by the test above").toBeTruthy();
    project = join(work, "partner-app");
    mkdirSync(project);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "partner-app", version: "1.0.0", private: true, type: "module" }, null, 2));
    ok(await npm(["install", "--no-audit", "--no-fund", "--prefer-offline", tarball], project), "npm install <tarball>");
    const installed = JSON.parse(readFileSync(join(project, "node_modules", "@coalesce", "client", "package.json"), "utf8")) as { version: string };
    expect(installed.version).toBe("0.1.0");

    // Operation ids are looked up by method and path, so this script outlives a renamed operationId.
    writeFileSync(
      join(project, "main.mjs"),
      `import { readFileSync } from "node:fs";
import { ApiError, OPERATIONS, PartnerClient } from "@coalesce/client";

const client = new PartnerClient({
  baseUrl: process.env.COALESCE_URL,
  issuer: process.env.COALESCE_PARTNER,
  privateJwk: JSON.parse(readFileSync(process.env.COALESCE_KEY_FILE, "utf8")),
});
const opFor = (method, path) => Object.entries(OPERATIONS).find(([, r]) => r.method === method && r.path === path)[0];

const member = await client.enrolMember({ external_ref: "guest 1001" });
const earn = { member: "ext:guest 1001", amount_minor: 45000, currency: "EUR", reference: "stay-1" };
const first = await client.opResponse(opFor("POST", "/v1/earn"), { body: earn, idempotencyKey: "stay-1-earn" });
const again = await client.opResponse(opFor("POST", "/v1/earn"), { body: earn, idempotencyKey: "stay-1-earn" });
const fetched = await client.op(opFor("GET", "/v1/members/{member}"), { params: { member: "ext:guest 1001" } });
let refusal;
try {
  await client.createBurn({ member: member.member_id, points: 1000000, reference: "too-much" });
} catch (err) {
  refusal = err instanceof ApiError ? { status: err.status, code: err.problem.code, request_id: err.problem.request_id } : String(err);
}
const pick = (r) => ({ status: r.status, replayed: r.replayed, body: r.body });
console.log(JSON.stringify({ member, first: pick(first), again: pick(again), fetched, refusal }));
`,
    );
    const ran = ok(await run(process.execPath, ["main.mjs"], { cwd: project, env, timeoutMs: 60_000 }), "node main.mjs");
    const out = JSON.parse(ran.stdout.trim()) as {
      member: { member_id: string; external_ref: string; balance: { available: number } };
      first: { status: number; replayed: boolean; body: { transaction: { transaction_id: string; points: number; status: string }; balance: { available: number } } };
      again: { status: number; replayed: boolean; body: { transaction: { transaction_id: string } } };
      fetched: { member_id: string; balance: { available: number; pending: number; held: number } };
      refusal: { status: number; code: string; request_id: string };
    };
    expect(out.member.member_id).toMatch(/^mbr_/);
    expect(out.member.external_ref).toBe("guest 1001");
    expect(out.first.status).toBe(201);
    expect(out.first.replayed).toBe(false);
    // 450.00 EUR at 10 points per unit, blue tier (no bonus).
    expect(out.first.body.transaction).toMatchObject({ points: 4500, status: "posted" });
    expect(out.first.body.balance.available).toBe(4500);
    expect(out.again).toMatchObject({ status: 201, replayed: true });
    expect(out.again.body.transaction.transaction_id).toBe(out.first.body.transaction.transaction_id);
    expect(out.fetched).toMatchObject({ member_id: out.member.member_id, balance: { available: 4500, pending: 0, held: 0 } });
    expect(out.refusal).toMatchObject({ status: 422, code: "insufficient_points", request_id: expect.stringMatching(/^req_/) });

    // The shipped example, run from where npm put it.
    const example = ok(
      await run(process.execPath, [join("node_modules", "@coalesce", "client", "examples", "earn.mjs"), "--member", "guest-2002", "--amount", "1000", "--reference", "ex-1"], {
        cwd: project,
        env,
        timeoutMs: 60_000,
      }),
      "examples/earn.mjs",
    );
    expect(JSON.parse(example.stdout.trim())).toMatchObject({ status: "posted", points: 100, bonus_points: 0, balance: { available: 100 } });

    const balance = await partner.client.call<{ balance: { available: number } }>("GET", "/v1/members/ext:guest-2002");
    expect(balance.balance.available).toBe(100);
    expect(await h.verify()).toEqual([]);
  });

  it("types a consumer's calls from the document (tsc over the installed .d.ts)", async () => {
    expect(project, "installed by the test above").toBeTruthy();
    const doc = JSON.parse(readFileSync(join(PKG, "openapi.json"), "utf8")) as { paths: Record<string, Record<string, { operationId: string }>> };
    const earnOp = doc.paths["/v1/earn"]!.post!.operationId;
    const memberOp = doc.paths["/v1/members/{member}"]!.get!.operationId;
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2022", "DOM"], types: [], strict: true, noEmit: true, skipLibCheck: false },
        files: ["check.ts"],
      }),
    );
    writeFileSync(
      join(project, "check.ts"),
      `import { ApiError, PartnerClient, type OperationResult, type components } from "@coalesce/client";

declare const client: PartnerClient;
const body = { member: "ext:a", amount_minor: 100, currency: "EUR", reference: "r" };
const earned: OperationResult<${JSON.stringify(earnOp)}> = await client.op(${JSON.stringify(earnOp)}, { body, idempotencyKey: "k" });
const available: number = earned.balance.available;
const member: components["schemas"]["Member"] = await client.op(${JSON.stringify(memberOp)}, { params: { member: "ext:a" } });
const page = await client.listTransactions({ limit: 5 });
const ids: string[] = page.data.map((t) => t.transaction_id);
// @ts-expect-error the body is required
await client.op(${JSON.stringify(earnOp)});
// @ts-expect-error amount_minor is a number
await client.op(${JSON.stringify(earnOp)}, { body: { ...body, amount_minor: "100" } });
// @ts-expect-error the path parameter is required
await client.op(${JSON.stringify(memberOp)}, {});
// @ts-expect-error no such operation
await client.op("noSuchOperation");
// @ts-expect-error the result has no such field
earned.no_such_field;
function code(err: unknown): string | undefined {
  return err instanceof ApiError ? err.problem.code : undefined;
}
export { available, member, ids, code };
`,
    );
    ok(await run(process.execPath, [TSC, "-p", project], { cwd: project, timeoutMs: 120_000 }), "tsc over the consumer's check.ts");
  });

  it("verifies a real webhook with the shipped receiver example", async () => {
    expect(project, "installed by the test above").toBeTruthy();
    const receiver = spawn(
      process.execPath,
      [join("node_modules", "@coalesce", "client", "examples", "verify-webhook.mjs"), "--port", "0", "--once"],
      { cwd: project, env: childEnv(env), stdio: ["ignore", "pipe", "pipe"] },
    );
    children.add(receiver);
    let stdout = "";
    let stderr = "";
    receiver.stdout.on("data", (d) => (stdout += d));
    receiver.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => receiver.on("close", (code) => (children.delete(receiver), r(code))));
    const url = await new Promise<string>((resolveUrl, reject) => {
      const timer = setTimeout(() => reject(new Error(`receiver not listening:\n${stderr}`)), 60_000);
      const poll = setInterval(() => {
        const m = stderr.match(/listening on (http:\/\/\S+)/);
        if (m) {
          clearInterval(poll);
          clearTimeout(timer);
          resolveUrl(m[1]!);
        }
      }, 25);
      void exited.then((code) => {
        clearInterval(poll);
        clearTimeout(timer);
        reject(new Error(`receiver exited with ${code}:\n${stderr}`));
      });
    });

    // The earlier tests' events were written while the partner had no webhook_url: settle them first.
    const services = { config: h.config, db: () => h.db.handle.db, now: () => new Date() };
    await deliverDueEvents(services, new Date());
    await h.staff("admin").updatePartner(partner.id, { webhook_url: `${url}/hooks` });
    const enrolled = await partner.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "hooked-1" }); // emits member.linked
    const deadline = Date.now() + 60_000;
    let code: number | null | undefined;
    while (code === undefined && Date.now() < deadline) {
      await deliverDueEvents(services, new Date(), { timeoutMs: 5_000 });
      code = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 200))]);
    }
    expect(code, `receiver output:\n${stdout}\n${stderr}`).toBe(0);
    const events = stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; partner_id: string; data: { member_id: string; external_ref: string } });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "member.linked", partner_id: partner.id, data: { member_id: enrolled.member_id, external_ref: "hooked-1" } });
    expect(stderr).not.toMatch(/refused a delivery/);
  });
});
