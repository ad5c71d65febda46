/**
 * The webhook SSRF guard, as an attacker would probe it: every spelling of an internal address is
 * refused at registration (422, nothing changed) and at delivery (no connection is made), and the
 * Node sender connects to the address it checked, resolving the name only once.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { deliverDueEvents } from "../../src/events/deliver.js";
import { nodeSender } from "../../src/events/node-send.js";
import { fetchSender } from "../../src/events/send.js";
import { internalAddressReason, webhookUrlProblem } from "../../src/events/target.js";
import type { Services } from "../../src/services.js";
import { createHarness, type Harness, type TestPartner } from "../support/harness.js";

let h: Harness;
let receiver: Server;
let port = 0;
let connections = 0;
let requests = 0;

beforeAll(async () => {
  h = await createHarness();
  receiver = createServer((_req, res) => {
    requests++;
    res.writeHead(204).end();
  });
  receiver.on("connection", () => connections++);
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  port = (receiver.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((r) => receiver.close(() => r()));
  await h.close();
});

// Every one reaches this machine, a private network, or somewhere that cannot be checked.
const internal = () => [
  `https://[::ffff:127.0.0.1]:${port}/hook`,
  `https://[::ffff:7f00:1]:${port}/hook`,
  `https://[0:0:0:0:0:ffff:127.0.0.1]:${port}/hook`,
  `https://[::127.0.0.1]:${port}/hook`, // IPv4-compatible
  `https://[::ffff:0:127.0.0.1]:${port}/hook`, // SIIT
  "https://[64:ff9b::10.0.0.1]/hook", // NAT64 of a private address
  "https://[64:ff9b::7f00:1]/hook",
  "https://[64:ff9b:1::1]/hook", // local-use NAT64
  "https://[2002:a00:1::1]/hook", // 6to4 of 10.0.0.1
  "https://[2002:7f00:1::]/hook", // 6to4 of 127.0.0.1
  "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook", // Teredo
  "https://10.0.0.1/hook",
  "https://169.254.169.254/",
  "https://172.16.5.4/hook",
  "https://192.168.1.1/hook",
  "https://100.64.0.1/hook",
  "https://0.0.0.0/hook",
  "https://2130706433/hook", // decimal 127.0.0.1
  "https://0x7f000001/hook", // hex
  "https://0177.0.0.1/hook", // octal
  "https://127.1/hook", // short
  "https://127.0.0.1./hook", // trailing dot
  "https://0xa9.0xfe.0xa9.0xfe/", // hex metadata address
  "https://[::1]/hook",
  "https://[::]/hook",
  "https://[fd00::1]/hook",
  "https://[fe80::1]/hook",
  "https://[ff02::1]/hook",
  "https://localhost/hook",
  "https://localhost./hook",
  "https://api.localhost/hook",
  "https://metadata.google.internal/",
  "https://intranet/hook",
];

describe("webhook targets: registration", () => {
  it.each([
    ["93.184.216.34", null],
    ["::ffff:93.184.216.34", null],
    ["2606:4700:4700::1111", null],
    ["::ffff:127.0.0.1", /loopback/],
    ["::ffff:7f00:1", /loopback/],
    ["64:ff9b::a00:1", /private.*10\.0\.0\.1/],
    ["2002:c0a8:101::", /private.*192\.168\.1\.1/],
    ["169.254.169.254", /linkLocal/],
  ])("classifies %s by what it reaches", (address, reason) => {
    const got = internalAddressReason(address);
    if (reason === null) expect(got).toBeNull();
    else expect(got).toMatch(reason);
  });

  it("refuses every internal spelling through the admin API with 422, and changes nothing", async () => {
    const p = await h.partner();
    await h.staff("admin").updatePartner(p.id, { webhook_url: "https://hooks.partner.example/ok" });
    for (const url of internal()) {
      const patched = await h.staff("admin").request<{ code: string; errors: { path: string; message: string }[] }>("PATCH", `/v1/admin/partners/${p.id}`, { webhook_url: url });
      expect([patched.status, patched.body.code], url).toEqual([422, "validation_failed"]);
      expect(patched.body.errors[0]!.path).toBe("webhook_url");
      expect(patched.body.errors[0]!.message, url).toMatch(/internal|https|fully qualified|address/);
      const created = await h.staff("admin").request<{ code: string }>("POST", "/v1/admin/partners", { ...p.doc, id: `${p.id}-x`, webhook_url: url });
      expect([created.status, created.body.code], url).toEqual([422, "validation_failed"]);
    }
    const stored = (await h.db.handle.db.execute(sql`select webhook_url from partners where id = ${p.id}`)) as unknown as { rows: { webhook_url: string }[] };
    expect(stored.rows[0]!.webhook_url).toBe("https://hooks.partner.example/ok");
  });

  it("accepts public https targets, and plain http to loopback only outside production", async () => {
    for (const url of ["https://hooks.partner.example/h", "https://93.184.216.34/h", "https://[2606:4700:4700::1111]/h"])
      expect(webhookUrlProblem(url, { allowLoopbackHttp: false }), url).toBeNull();
    expect(webhookUrlProblem("http://127.0.0.1:9999/hook", { allowLoopbackHttp: true })).toBeNull();
    expect(webhookUrlProblem("http://127.0.0.1:9999/hook", { allowLoopbackHttp: false })).toMatch(/https/);
    expect(webhookUrlProblem("http://partner.example/hook", { allowLoopbackHttp: true })).toMatch(/https/);
    expect(webhookUrlProblem("https://user:pw@partner.example/hook", { allowLoopbackHttp: true })).toMatch(/credentials/);

    const prod = await createHarness({ ENVIRONMENT: "production", PUBLIC_BASE_URL: "https://coalesce.example" });
    try {
      const p = await prod.partner();
      const res = await prod.staff("admin").request<{ code: string }>("PATCH", `/v1/admin/partners/${p.id}`, { webhook_url: `http://127.0.0.1:${port}/hook` });
      expect([res.status, res.body.code]).toEqual([422, "validation_failed"]);
    } finally {
      await prod.close();
    }
  });
});

describe("webhook targets: delivery", () => {
  const services = (at: number): Services => ({ config: h.config, db: () => h.db.handle.db, now: () => new Date(at) });

  async function partnerWithStoredUrl(url: string): Promise<TestPartner> {
    const p = await h.partner();
    // A row from before the registration check: delivery must refuse it on its own.
    await h.db.handle.db.execute(sql`update partners set webhook_url = ${url} where id = ${p.id}`);
    await p.client.call("POST", "/v1/members", { external_ref: "ssrf" });
    return p;
  }

  it.each([
    ["the Node sender", nodeSender()],
    ["the fetch sender", fetchSender],
  ])("never connects to an internal address stored before the check (%s)", async (_name, send) => {
    const urls = [`https://[::ffff:127.0.0.1]:${port}/hook`, `https://[::ffff:7f00:1]:${port}/hook`, `https://[0:0:0:0:0:ffff:127.0.0.1]:${port}/hook`, `https://127.1:${port}/hook`];
    const partners = [];
    for (const url of urls) partners.push(await partnerWithStoredUrl(url));
    const before = connections;
    const at = Date.now() + 1_000;
    await deliverDueEvents(services(at), new Date(at), { send, timeoutMs: 2_000 });
    expect(connections - before, "no connection reached the loopback receiver").toBe(0);
    for (const p of partners) {
      const rows = (await h.db.handle.db.execute(sql`select status, last_error from events where partner_id = ${p.id}`)) as unknown as {
        rows: { status: string; last_error: string }[];
      };
      expect(rows.rows[0]).toMatchObject({ status: "pending" });
      expect(rows.rows[0]!.last_error).toMatch(/UnsafeTargetError: .*internal address/);
    }
  });

  it("resolves a name once and connects to the address it checked (no DNS rebinding)", async () => {
    // The first answer is the checked one; a rebinding resolver would answer differently next time.
    const answers = [[{ address: "127.0.0.1", family: 4 }], [{ address: "10.0.0.1", family: 4 }]];
    let lookups = 0;
    const send = nodeSender(async () => answers[Math.min(lookups++, 1)]!);
    const p = await partnerWithStoredUrl(`http://localhost:${port}/hook`);
    const before = requests;
    const at = Date.now() + 1_000;
    await deliverDueEvents(services(at), new Date(at), { send, timeoutMs: 2_000 });
    expect(lookups).toBe(1);
    expect(requests - before, "the one checked address was used").toBe(1);
    const rows = (await h.db.handle.db.execute(sql`select status from events where partner_id = ${p.id}`)) as unknown as { rows: { status: string }[] };
    expect(rows.rows[0]!.status).toBe("delivered");
  });

  it("refuses a name with any internal address before connecting anywhere", async () => {
    const send = nodeSender(async () => [
      { address: "93.184.216.34", family: 4 },
      { address: "192.168.1.10", family: 4 },
    ]);
    await expect(send({ url: "https://rebind.example/hook", headers: {}, body: "{}", timeoutMs: 1_000, allowLoopbackHttp: false })).rejects.toThrow(
      /internal address: 192\.168\.1\.10/,
    );
    const loopbackOnly = nodeSender(async () => [{ address: "10.1.2.3", family: 4 }]);
    await expect(loopbackOnly({ url: `http://localhost:${port}/hook`, headers: {}, body: "{}", timeoutMs: 1_000, allowLoopbackHttp: true })).rejects.toThrow(/not loopback/);
  });
});
