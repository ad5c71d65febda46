#!/usr/bin/env node
/**
 * A webhook receiver: verifies each POST's Coalition-Signature against the platform's published
 * keys and prints every verified event as one JSON line. Point your webhook_url at it.
 *
 *   COALESCE_URL=http://127.0.0.1:8787 COALESCE_PARTNER=aurora-hotels \
 *   node examples/verify-webhook.mjs [--port 8788] [--host 127.0.0.1] [--once]
 *
 * --url and --partner may replace the variables (or --key <partner>.private.jwk.json names the
 * partner). --port 0 picks a free port; the address is printed as "listening on <url>" on stderr.
 * --once exits after the first verified event. Answers 204 to a verified event, 400 otherwise.
 */
import { createServer } from "node:http";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { fetchJwks, verifyWebhook } from "@coalesce/client";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: process.env.COALESCE_URL ?? "http://127.0.0.1:8787" },
    partner: { type: "string", default: process.env.COALESCE_PARTNER },
    key: { type: "string", default: process.env.COALESCE_KEY_FILE },
    port: { type: "string", default: process.env.PORT ?? "8788" },
    host: { type: "string", default: "127.0.0.1" },
    once: { type: "boolean", default: false },
  },
});
const partnerId = values.partner ?? (values.key ? basename(values.key).replace(/\.private\.jwk\.json$/, "") : undefined);
if (!partnerId) {
  console.error("usage: node verify-webhook.mjs --partner ID [--url URL] [--port PORT] [--once]");
  process.exit(2);
}

let jwks = await fetchJwks(values.url);
const seen = new Set(); // at-least-once delivery: handle each event id once

const server = createServer((req, res) => {
  if (req.method !== "POST") return void res.writeHead(405, { allow: "POST" }).end();
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    const body = new Uint8Array(Buffer.concat(chunks)); // the exact bytes received
    const signature = req.headers["coalition-signature"];
    let event;
    try {
      event = await verifyWebhook({ body, signature, jwks, partnerId });
    } catch (err) {
      try {
        // The platform may have rotated its key since we fetched: fetch once more and retry.
        jwks = await fetchJwks(values.url);
        event = await verifyWebhook({ body, signature, jwks, partnerId });
      } catch {
        console.error(`refused a delivery: ${err instanceof Error ? err.message : err}`);
        return void res.writeHead(400).end();
      }
    }
    const first = !seen.has(event.id);
    seen.add(event.id);
    if (first) console.log(JSON.stringify(event));
    // Answer at once (within 5 s, or the platform retries); handle the event after that.
    res.writeHead(204).end(() => {
      if (first && values.once) process.exit(0);
    });
  });
});
server.listen(Number(values.port), values.host, () => {
  const { port } = server.address();
  console.error(`listening on http://${values.host}:${port} for ${partnerId}'s webhooks`);
});
