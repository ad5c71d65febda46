#!/usr/bin/env node
/**
 * Enrols a customer as a member (or finds it: enrolling twice is harmless), earns points for a
 * purchase, and prints the result as JSON.
 *
 *   COALESCE_URL=http://127.0.0.1:8787 COALESCE_PARTNER=aurora-hotels \
 *   COALESCE_KEY_FILE=.data/keys/aurora-hotels.private.jwk.json \
 *   node examples/earn.mjs --member guest-1001 --amount 45000 --currency EUR [--reference stay-1]
 *
 * --url, --partner and --key may replace the variables. Without --partner the partner id is taken
 * from a key file named <partner>.private.jwk.json. Exits 1 with the problem on a refusal.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { ApiError, PartnerClient, randomId } from "@coalesce/client";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: process.env.COALESCE_URL ?? "http://127.0.0.1:8787" },
    partner: { type: "string", default: process.env.COALESCE_PARTNER },
    key: { type: "string", default: process.env.COALESCE_KEY_FILE },
    member: { type: "string", default: "guest-1001" },
    amount: { type: "string", default: "45000" },
    currency: { type: "string", default: "EUR" },
    reference: { type: "string" },
  },
});
if (!values.key) {
  console.error("usage: node earn.mjs --key <private JWK file> [--url URL] [--partner ID] [--member REF] [--amount MINOR] [--currency CUR] [--reference REF]");
  process.exit(2);
}
const partner = values.partner ?? basename(values.key).replace(/\.private\.jwk\.json$/, "");
const client = new PartnerClient({ baseUrl: values.url, issuer: partner, privateJwk: JSON.parse(readFileSync(values.key, "utf8")) });

const reference = values.reference ?? `example-${randomId(6)}`;
try {
  const member = await client.enrolMember({ external_ref: values.member });
  // Chosen once: a retry of this earn with the same key cannot post twice.
  const idempotencyKey = `earn-${reference}`;
  const earned = await client.createEarn(
    { member: `ext:${values.member}`, amount_minor: Number(values.amount), currency: values.currency, reference },
    { idempotencyKey },
  );
  console.log(
    JSON.stringify({
      member_id: member.member_id,
      transaction_id: earned.transaction.transaction_id,
      status: earned.transaction.status,
      points: earned.transaction.points,
      bonus_points: earned.bonus_points,
      balance: earned.balance,
    }),
  );
} catch (err) {
  if (err instanceof ApiError) {
    console.error(`refused: ${err.status} ${err.problem.code}: ${err.problem.detail} (request ${err.problem.request_id})`);
    process.exit(1);
  }
  throw err;
}
