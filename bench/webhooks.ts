/**
 * Webhook throughput: events delivered per minute to a healthy local receiver while another
 * partner's receiver never answers (every attempt runs into the 5 s timeout). Runs the delivery
 * job as the Node server does, with the pinned Node sender, on a scratch database; loopback only.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { sql } from "drizzle-orm";
import { exportJWK, generateKeyPair } from "jose";
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db/client.js";
import { deliverDueEvents } from "../src/events/deliver.js";
import { nodeSender } from "../src/events/node-send.js";
import { applyPartnerDocument } from "../src/partners/apply.js";
import { PartnerDocument } from "../src/partners/document.js";
import type { Services } from "../src/services.js";

export interface WebhookBench {
  events: number;
  seconds: number;
  perMinute: number;
  timedOut: number;
}

const listen = (s: Server) => new Promise<number>((r) => s.listen(0, "127.0.0.1", () => r((s.address() as AddressInfo).port)));

export async function benchWebhooks(databaseUrl: string, run: number, events = 3_000, stuck = 200): Promise<WebhookBench> {
  // The healthy receiver notes when the last of its backlog arrived: that is the figure, however
  // long the job then spends on the stuck partner's timeouts.
  let arrived = 0;
  let lastArrival = 0;
  const healthy = createServer((req, res) => {
    req.resume();
    if (++arrived === events) lastArrival = performance.now();
    res.writeHead(204).end();
  });
  const hanging = createServer(() => undefined); // never answers
  const handle = await openDatabase({ kind: "pg", url: databaseUrl, max: 20 });
  try {
    const [okPort, stuckPort] = [await listen(healthy), await listen(hanging)];
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const config = loadConfig({ ENVIRONMENT: "development", PLATFORM_SIGNING_KEY: JSON.stringify({ ...(await exportJWK(privateKey)), kid: "bench-platform", alg: "ES256" }) });
    const ids = { ok: `bench-hooks-ok-${run}`, stuck: `bench-hooks-stuck-${run}` };
    for (const [id, port] of [[ids.ok, okPort], [ids.stuck, stuckPort]] as const) {
      const doc = PartnerDocument.parse({
        id,
        name: id,
        category: "retail",
        settlement: { currency: "EUR", billing: "issuance", issue_price_per_point: "0.01", redemption_price_per_point: "0.008", period: "monthly" },
        earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "1" }],
        webhook_url: `http://127.0.0.1:${port}/hook`,
        keys: [],
      });
      await applyPartnerDocument(handle.db, doc, { mode: "upsert", now: new Date() });
    }
    const now = new Date();
    // The stuck partner's events are older, so they are due first and compete for every claim.
    const queue = (partner: string, n: number, at: Date) =>
      handle.db.execute(sql`
        insert into events (id, partner_id, type, data, created_at, next_attempt_at)
        select 'evt_' || ${partner} || '_' || g, ${partner}, 'ping', jsonb_build_object('n', g), ${at.toISOString()}::timestamptz, ${at.toISOString()}::timestamptz
          from generate_series(1, ${n}) g`);
    await queue(ids.stuck, stuck, new Date(now.getTime() - 60_000));
    await queue(ids.ok, events, new Date(now.getTime() - 30_000));
    const services: Services = { config, db: () => handle.db, now: () => now, webhookSender: nodeSender() };
    const left = async () =>
      ((await handle.db.execute(sql`select count(*)::int as n from events where partner_id = ${ids.ok} and status <> 'delivered'`)) as unknown as { rows: { n: number }[] }).rows[0]!.n;
    const started = performance.now();
    // As the Node server's timer would: job runs back to back until the healthy backlog is gone.
    for (let i = 0; i < 100 && (await left()) > 0; i++) await deliverDueEvents(services, now);
    const seconds = (lastArrival - started) / 1000;
    const timedOut = ((await handle.db.execute(sql`select count(*)::int as n from events where partner_id = ${ids.stuck} and attempts > 0`)) as unknown as { rows: { n: number }[] }).rows[0]!.n;
    if ((await left()) > 0) throw new Error("webhook bench: the healthy backlog did not drain");
    return { events, seconds, perMinute: (events / seconds) * 60, timedOut };
  } finally {
    hanging.closeAllConnections();
    await new Promise<void>((r) => hanging.close(() => r()));
    await new Promise<void>((r) => healthy.close(() => r()));
    await handle.close();
  }
}
