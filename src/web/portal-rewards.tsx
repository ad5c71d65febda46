/**
 * Rewards in the member portal: the catalogue (what the member can afford highlighted), a
 * confirmation step before each redemption, and "My rewards" with voucher codes in full and as
 * QR codes drawn on the server (inline SVG: no script, no image request, nothing for the CSP to
 * allow), with a confirmation step before a cancellation. Redemptions and cancellations are the
 * partner API's postings (`src/rewards/portal.ts`); a refusal is a message on the page.
 */
import type { Context } from "hono";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { encode } from "uqr";
import type { AppEnv } from "../http/env.js";
import { DomainError, type ErrorCode } from "../errors.js";
import type { LedgerOutcome } from "../ledger/post.js";
import { currencyExponent } from "../lib/money.js";
import { memberBalance } from "../members/members.js";
import { csrfFor } from "../members/portal.js";
import {
  cancelInPortal,
  isCancellable,
  memberRedemption,
  memberRedemptions,
  portalCatalogue,
  portalMaker,
  portalReward,
  redeemInPortal,
  unitsLeftFor,
  type MemberRedemption,
  type PortalMaker,
  type PortalReward,
} from "../rewards/portal.js";
import { formNonceKey, mintFormNonce } from "../members/portal-postings.js";
import { checkForm, formatDate, formatPoints, html } from "./layout.js";
import { currentSession, Notice, PortalPage, sessionEnded, type PortalSession } from "./portal-kit.js";

// ---- Small parts ------------------------------------------------------------------------------

export function formatMoney(m: { amount_minor: number; currency: string }): string {
  const exponent = currencyExponent(m.currency);
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency: m.currency, minimumFractionDigits: exponent, maximumFractionDigits: exponent }).format(m.amount_minor / 10 ** exponent);
  } catch {
    return `${(m.amount_minor / 10 ** exponent).toFixed(exponent)} ${m.currency}`;
  }
}

const KIND_LABEL = { voucher: "Voucher", item: "Item", transfer: "Transfer" } as const;
const dateOnly = (iso: string) => iso.slice(0, 10);

/** What one unit of a reward is: the voucher's worth, the transfer's miles, nothing for an item. */
function Terms(props: { reward: Pick<PortalReward, "kind" | "face_value" | "transfer" | "voucher_valid_days" | "supplier_name"> }) {
  const r = props.reward;
  if (r.kind === "voucher")
    return (
      <p class="terms">
        {r.face_value ? <>Worth {formatMoney(r.face_value)} at {r.supplier_name}. </> : <>To use at {r.supplier_name}. </>}
        Valid {r.voucher_valid_days} days.
      </p>
    );
  if (r.kind === "transfer" && r.transfer)
    return (
      <p class="terms">
        {formatPoints(r.transfer.units_per_unit)} {r.transfer.program} each, sent to your {r.transfer.program} account.
      </p>
    );
  return null;
}

/**
 * A QR code as inline SVG, drawn from uqr's module matrix: one path of horizontal runs, a
 * four-module quiet zone, crisp edges. It encodes the voucher code exactly as printed beside it.
 */
export function QrCode(props: { text: string; label: string }) {
  const qr = encode(props.text, { ecc: "M", border: 4 });
  let d = "";
  qr.data.forEach((row, y) => {
    for (let x = 0; x < row.length; ) {
      if (!row[x]) {
        x++;
        continue;
      }
      let end = x;
      while (end < row.length && row[end]) end++;
      d += `M${x} ${y}h${end - x}v1h-${end - x}z`;
      x = end;
    }
  });
  return (
    <svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox={`0 0 ${qr.size} ${qr.size}`} role="img" aria-label={props.label} shape-rendering="crispEdges">
      <rect width={qr.size} height={qr.size} fill="#fff" />
      <path d={d} fill="#000" />
    </svg>
  );
}

function MakerProblem(props: { maker: PortalMaker | null }) {
  const m = props.maker;
  if (!m)
    return (
      <Notice tone="error">
        <p>Rewards are redeemed through the brand whose app or website opened your account, and this session does not say which one that was.</p>
        <p>Open your account again from a brand you are a member with to redeem a reward.</p>
      </Notice>
    );
  if (m.usable) return null;
  return (
    <Notice tone="error">
      {m.reason === "unlinked" ? (
        <p>
          You opened your account from {m.name}, and your account is no longer linked to {m.name}. Rewards are redeemed through the brand you open your account from.
        </p>
      ) : (
        <p>{m.name}, where you opened your account, cannot process rewards at the moment.</p>
      )}
      <p>To redeem a reward, open your account again from the app or website of another brand you are a member with.</p>
    </Notice>
  );
}

// ---- Catalogue --------------------------------------------------------------------------------

function RewardCard(props: { reward: PortalReward; available: number; canRedeem: boolean }) {
  const r = props.reward;
  const left = unitsLeftFor(r);
  const affordable = props.available >= r.points;
  const soldOut = r.stock === 0;
  const limitReached = !soldOut && r.per_member_limit !== null && r.taken >= r.per_member_limit;
  const headingId = `h-${r.reward_id}`;
  let status;
  if (soldOut) status = <p class="tag">Out of stock</p>;
  else if (limitReached) status = <p class="tag">You have reached the limit of {r.per_member_limit} for this reward</p>;
  else if (affordable) status = <p class="tag ok">You have enough points</p>;
  else status = <p class="tag warn">You need {formatPoints(r.points - props.available)} more points</p>;
  const stock: string[] = [];
  if (r.stock !== null && r.stock > 0) stock.push(`${formatPoints(r.stock)} left`);
  if (r.per_member_limit !== null) stock.push(`limit ${r.per_member_limit} per member`);
  return (
    <li class={`reward${affordable && left > 0 ? " affordable" : ""}`} aria-labelledby={headingId} data-reward={r.reward_id}>
      <p class="meta">
        <span class="tag">{KIND_LABEL[r.kind]}</span> <span class="muted">{r.supplier_name}</span>
      </p>
      <h2 id={headingId}>{r.name}</h2>
      {r.description ? <p>{r.description}</p> : null}
      <Terms reward={r} />
      <p class="price">{formatPoints(r.points)} points</p>
      {stock.length > 0 ? <p class="muted small">{stock.join(" · ")}</p> : null}
      {status}
      {props.canRedeem && affordable && left > 0 ? (
        <p class="push">
          <a class="button" href={`/portal/rewards/${r.reward_id}`} aria-label={`Redeem ${r.name}`}>
            Redeem
          </a>
        </p>
      ) : null}
    </li>
  );
}

function CataloguePage(props: { csrf: string; available: number; rewards: PortalReward[]; maker: PortalMaker | null }) {
  const canRedeem = props.maker?.usable === true;
  const reachable = props.rewards.filter((r) => r.points <= props.available && unitsLeftFor(r) > 0).length;
  return (
    <PortalPage title="Rewards" current="rewards" csrf={props.csrf}>
      <h1>Rewards</h1>
      <p class="lead">
        You have <strong data-testid="available">{formatPoints(props.available)}</strong> points available.{" "}
        {props.rewards.length > 0 ? <>{reachable === 0 ? "Keep collecting: no reward is within reach yet." : `${reachable} ${reachable === 1 ? "reward is" : "rewards are"} within reach.`}</> : null}
      </p>
      <MakerProblem maker={props.maker} />
      {props.rewards.length === 0 ? (
        <section class="card">
          <p class="muted">There are no rewards in the catalogue right now. Please check again soon.</p>
        </section>
      ) : (
        <ul class="rewards" aria-label="Rewards catalogue">
          {props.rewards.map((r) => (
            <RewardCard reward={r} available={props.available} canRedeem={canRedeem} />
          ))}
        </ul>
      )}
    </PortalPage>
  );
}

// ---- Confirmation of a redemption -------------------------------------------------------------

interface ConfirmProps {
  csrf: string;
  nonce: string;
  reward: PortalReward;
  available: number;
  quantity: number;
  maker: PortalMaker | null;
  transferAccount?: string;
  error?: string;
  fieldError?: string;
}

function ConfirmPage(props: ConfirmProps) {
  const r = props.reward;
  const left = unitsLeftFor(r);
  const affordableUnits = Math.floor(props.available / r.points);
  const choices = Math.min(left, affordableUnits);
  const quantity = props.quantity;
  const total = r.points * quantity;
  const after = props.available - total;
  const canConfirm = props.maker?.usable === true && quantity >= 1 && quantity <= left && after >= 0;
  const program = r.transfer?.program ?? "";
  return (
    <PortalPage title={`Redeem ${r.name}`} current="rewards" csrf={props.csrf}>
      <p class="back">
        <a href="/portal/rewards">← All rewards</a>
      </p>
      <h1>Confirm your reward</h1>
      {props.error ? (
        <Notice tone="error">
          <p data-testid="refusal">{props.error}</p>
        </Notice>
      ) : null}
      <MakerProblem maker={props.maker} />
      <section class="card" aria-labelledby="reward-h">
        <p class="meta">
          <span class="tag">{KIND_LABEL[r.kind]}</span> <span class="muted">{r.supplier_name}</span>
        </p>
        <h2 id="reward-h">{r.name}</h2>
        {r.description ? <p>{r.description}</p> : null}
        <Terms reward={r} />
        {r.stock !== null || r.per_member_limit !== null ? (
          <p class="muted small">
            {[r.stock !== null ? `${formatPoints(r.stock)} left` : "", r.per_member_limit !== null ? `limit ${r.per_member_limit} per member (you have ${r.taken})` : ""].filter(Boolean).join(" · ")}
          </p>
        ) : null}
      </section>
      <section class="card" aria-labelledby="summary-h">
        <h2 id="summary-h">Your redemption</h2>
        {choices > 1 ? (
          <div class="qty">
            <p id="qty-label" class="label">
              Quantity
            </p>
            <ul class="qty-choices" aria-labelledby="qty-label">
              {Array.from({ length: choices }, (_, i) => i + 1).map((n) => (
                <li>
                  <a href={`/portal/rewards/${r.reward_id}?quantity=${n}`} aria-current={n === quantity ? "true" : undefined} aria-label={`Quantity ${n}`}>
                    {n}
                  </a>
                </li>
              ))}
            </ul>
          </div>
        ) : null}
        <dl class="summary">
          <dt>Points per unit</dt>
          <dd>{formatPoints(r.points)}</dd>
          <dt>Quantity</dt>
          <dd data-testid="quantity">{quantity}</dd>
          <dt>Total</dt>
          <dd data-testid="total">{formatPoints(total)} points</dd>
          <dt>Available now</dt>
          <dd>{formatPoints(props.available)} points</dd>
          <dt>After this redemption</dt>
          <dd data-testid="after" class={after < 0 ? "warn" : undefined}>
            {after < 0 ? `${formatPoints(-after)} points short` : `${formatPoints(after)} points`}
          </dd>
        </dl>
        {canConfirm ? (
          <form method="post" action={`/portal/rewards/${r.reward_id}/redeem`}>
            <input type="hidden" name="csrf" value={props.csrf} />
            <input type="hidden" name="nonce" value={props.nonce} />
            <input type="hidden" name="quantity" value={String(quantity)} />
            {r.kind === "transfer" ? (
              <p class="field">
                <label for="transfer_account">Your {program} number</label>
                <input
                  id="transfer_account"
                  name="transfer_account"
                  required
                  maxlength={64}
                  autocomplete="off"
                  value={props.transferAccount ?? ""}
                  aria-invalid={props.fieldError ? "true" : undefined}
                  aria-describedby={props.fieldError ? "transfer_account-error transfer_account-hint" : "transfer_account-hint"}
                />
                <span id="transfer_account-hint" class="muted small">
                  {formatPoints(r.transfer!.units_per_unit * quantity)} {program} go to this account.
                </span>
                {props.fieldError ? (
                  <span id="transfer_account-error" class="field-error">
                    {props.fieldError}
                  </span>
                ) : null}
              </p>
            ) : null}
            <p class="muted small">
              {r.kind === "voucher"
                ? `Your ${quantity === 1 ? "voucher appears" : "vouchers appear"} under My rewards at once, with a code and a QR code to show at ${r.supplier_name}. You can cancel while ${quantity === 1 ? "it is" : "they are"} unused.`
                : r.kind === "transfer"
                  ? `${r.supplier_name} sends the ${program} to your account. You can cancel until they are sent.`
                  : `${r.supplier_name} prepares your order; follow it under My rewards. You can cancel until it is sent.`}
            </p>
            <p class="actions">
              <button type="submit">Confirm: redeem {formatPoints(total)} points</button>
              <a href="/portal/rewards">Back to rewards</a>
            </p>
          </form>
        ) : (
          <p class="actions">
            <a href="/portal/rewards">Back to rewards</a>
          </p>
        )}
      </section>
    </PortalPage>
  );
}

// ---- My rewards -------------------------------------------------------------------------------

const VOUCHER_STATUS = { issued: "Ready to use", used: "Used", cancelled: "Cancelled", expired: "Expired" } as const;

/** One word for the whole redemption, from the member's side. */
function overallStatus(r: MemberRedemption): { label: string; tone: "ok" | "warn" | "" } {
  if (r.status === "cancelled") return { label: "Cancelled", tone: "" };
  if (r.status === "rejected") return { label: "Declined", tone: "warn" };
  if (r.status === "fulfilled") return { label: r.kind === "transfer" ? "Sent" : "Delivered", tone: "ok" };
  if (r.status === "requested") return { label: "Requested", tone: "warn" };
  const vs = r.vouchers ?? [];
  if (vs.some((v) => v.status === "issued")) return { label: vs.every((v) => v.status === "issued") ? "Ready to use" : "Partly used", tone: "ok" };
  if (vs.length > 0 && vs.every((v) => v.status === "used")) return { label: "Used", tone: "" };
  if (vs.length > 0 && vs.every((v) => v.status === "expired")) return { label: "Expired", tone: "" };
  return { label: "Used or expired", tone: "" };
}

function RedemptionCard(props: { r: MemberRedemption; highlight: boolean }) {
  const r = props.r;
  const status = overallStatus(r);
  const headingId = `h-${r.redemption_id}`;
  return (
    <article class={`card redemption${props.highlight ? " highlight" : ""}`} id={r.redemption_id} aria-labelledby={headingId} data-redemption={r.redemption_id} data-status={r.status}>
      <p class="meta">
        <span class="tag">{KIND_LABEL[r.kind]}</span> <span class={`tag ${status.tone}`}>{status.label}</span>
      </p>
      <h2 id={headingId}>
        {r.quantity > 1 ? `${r.quantity} × ` : ""}
        {r.reward_name}
      </h2>
      <p class="muted small">
        {formatPoints(r.points)} points · redeemed {formatDate(r.created_at)} · from {r.supplier_name}
      </p>
      {r.kind === "voucher" ? (
        <ul class="vouchers" aria-label={`Voucher codes for ${r.reward_name}`}>
          {(r.vouchers ?? []).map((v, i) => (
            <li class={`voucher ${v.status}`} data-voucher-status={v.status}>
              {v.status === "issued" ? <QrCode text={v.code} label={`QR code of voucher ${v.code}`} /> : null}
              <div>
                <p class="muted small">{(r.vouchers ?? []).length > 1 ? `Voucher ${i + 1} of ${(r.vouchers ?? []).length}` : "Voucher code"}</p>
                <p class="code voucher-code" data-testid="voucher-code">
                  {v.code}
                </p>
                <p>
                  <span class={`tag ${v.status === "issued" ? "ok" : ""}`}>{VOUCHER_STATUS[v.status]}</span>{" "}
                  {v.status === "issued" || v.status === "expired" ? (
                    <span class="small">
                      {v.status === "issued" ? "Expires" : "Expired on"} {dateOnly(v.expires_at)}
                    </span>
                  ) : null}
                </p>
                {v.status === "issued" ? (
                  <p class="muted small">
                    Show the QR code or the code at {r.supplier_name}
                    {r.face_value ? `; it is worth ${formatMoney(r.face_value)}` : ""}.
                  </p>
                ) : null}
              </div>
            </li>
          ))}
        </ul>
      ) : null}
      {r.kind === "transfer" ? (
        <p>
          {r.transfer_units_per_unit && r.transfer_program ? `${formatPoints(r.transfer_units_per_unit * r.quantity)} ${r.transfer_program} to account ` : "To account "}
          <strong>{r.transfer_account}</strong>.
        </p>
      ) : null}
      {r.status === "requested" ? <p class="small">{r.supplier_name} has your request and will let you know when it is done.</p> : null}
      {r.status === "fulfilled" && r.fulfilment_reference ? <p class="small">Reference from {r.supplier_name}: {r.fulfilment_reference}</p> : null}
      {r.status === "rejected" ? (
        <p class="small">
          {r.supplier_name} could not provide it{r.reject_reason ? `: ${r.reject_reason}` : ""}. Your points were returned.
        </p>
      ) : null}
      {r.status === "cancelled" ? <p class="small">Cancelled; the points were returned to your balance.</p> : null}
      {isCancellable(r) ? (
        <p>
          <a class="button secondary" href={`/portal/my-rewards/${r.redemption_id}/cancel`}>
            Cancel this reward<span class="visually-hidden"> ({r.reward_name})</span>
          </a>
        </p>
      ) : null}
    </article>
  );
}

function MyRewardsPage(props: { csrf: string; available: number; redemptions: MemberRedemption[]; notice?: string; highlight?: string }) {
  return (
    <PortalPage title="My rewards" current="mine" csrf={props.csrf}>
      <h1>My rewards</h1>
      {props.notice ? (
        <Notice>
          <p data-testid="notice">{props.notice}</p>
        </Notice>
      ) : null}
      <p class="lead">
        You have <strong data-testid="available">{formatPoints(props.available)}</strong> points available. <a href="/portal/rewards">Browse rewards</a>
      </p>
      {props.redemptions.length === 0 ? (
        <section class="card">
          <p class="muted">You have not redeemed any rewards yet.</p>
        </section>
      ) : (
        props.redemptions.map((r) => <RedemptionCard r={r} highlight={r.redemption_id === props.highlight} />)
      )}
      {props.redemptions.length >= 50 ? <p class="muted small">Showing your 50 most recent rewards.</p> : null}
    </PortalPage>
  );
}

function CancelPage(props: { csrf: string; nonce: string; r: MemberRedemption; error?: string }) {
  const r = props.r;
  const cancellable = isCancellable(r);
  return (
    <PortalPage title={`Cancel ${r.reward_name}`} current="mine" csrf={props.csrf}>
      <p class="back">
        <a href="/portal/my-rewards">← My rewards</a>
      </p>
      <h1>Cancel this reward?</h1>
      {props.error ? (
        <Notice tone="error">
          <p data-testid="refusal">{props.error}</p>
        </Notice>
      ) : null}
      <section class="card" aria-labelledby="cancel-h">
        <h2 id="cancel-h">
          {r.quantity > 1 ? `${r.quantity} × ` : ""}
          {r.reward_name}
        </h2>
        <dl class="summary">
          <dt>Redeemed</dt>
          <dd>{formatDate(r.created_at)}</dd>
          <dt>Points back to you</dt>
          <dd data-testid="refund">{formatPoints(r.points)} points</dd>
        </dl>
        {cancellable ? (
          <>
            <p>
              {r.kind === "voucher"
                ? `${r.quantity === 1 ? "The voucher code stops" : "The voucher codes stop"} working at once and cannot be used again.`
                : `${r.supplier_name} is told not to ${r.kind === "transfer" ? "send the transfer" : "send the item"}.`}{" "}
              The points return with their original expiry dates.
            </p>
            <form method="post" action={`/portal/my-rewards/${r.redemption_id}/cancel`}>
              <input type="hidden" name="csrf" value={props.csrf} />
              <input type="hidden" name="nonce" value={props.nonce} />
              <p class="actions">
                <button type="submit" class="danger">
                  Yes, cancel it
                </button>
                <a href="/portal/my-rewards">No, keep it</a>
              </p>
            </form>
          </>
        ) : (
          <>
            {props.error ? null : <p data-testid="refusal">This reward can no longer be cancelled: something of it is used, delivered or expired, or it is already cancelled.</p>}
            <p class="actions">
              <a href="/portal/my-rewards">Back to my rewards</a>
            </p>
          </>
        )}
      </section>
    </PortalPage>
  );
}

function GonePage(props: { csrf: string; title: string; message: string; back: { href: string; label: string }; current: "rewards" | "mine" }) {
  return (
    <PortalPage title={props.title} current={props.current} csrf={props.csrf}>
      <h1>{props.title}</h1>
      <section class="card">
        <p>{props.message}</p>
        <p>
          <a href={props.back.href}>{props.back.label}</a>
        </p>
      </section>
    </PortalPage>
  );
}

// ---- Refusals, as a member reads them ---------------------------------------------------------

function refusalMessage(code: ErrorCode | string, detail: string, context: { reward?: PortalReward; available?: number; maker?: PortalMaker | null }): string {
  switch (code) {
    case "insufficient_points":
      return context.available !== undefined
        ? `You don't have enough points for this: you have ${formatPoints(context.available)} available.`
        : "You don't have enough points for this.";
    case "reward_unavailable":
      return /out of stock/i.test(detail) ? "Sorry, this reward has just run out." : "Sorry, this reward is not available at the moment.";
    case "redemption_limit_reached":
      return context.reward?.per_member_limit
        ? `You have reached the limit for this reward: at most ${context.reward.per_member_limit} per member.`
        : "You have reached the limit for this reward.";
    case "validation_failed":
      return "Please check your details and try again.";
    case "member_not_found":
      return context.maker
        ? `Your account is no longer linked to ${context.maker.name}, where you opened it, so rewards cannot be redeemed through it. Open your account again from another brand you are a member with.`
        : "Your account is no longer linked to the brand you opened it from.";
    case "not_found":
      return "This reward or redemption no longer exists.";
    case "redemption_not_cancellable":
      return "This reward can no longer be cancelled: something of it is used, delivered or expired, or it is already cancelled.";
    case "idempotency_key_reused":
      return "This confirmation was already used for a different choice. Please check the details below and confirm again.";
    default:
      return "Something went wrong on our side; nothing was changed. Please try again.";
  }
}

/** A ledger outcome that is not a result, as a refusal's code and detail. */
function refusalOf(outcome: LedgerOutcome): { code: string; detail: string } {
  return "refusal" in outcome ? outcome.refusal : { code: "internal_error", detail: "" };
}

async function post(fn: () => Promise<LedgerOutcome>): Promise<LedgerOutcome> {
  try {
    return await fn();
  } catch (err) {
    // Refused before anything was posted (a key reused for another choice, a replayed token).
    if (err instanceof DomainError) return { refusal: { code: err.code, detail: err.detail }, request_id: "", replayed: false };
    throw err;
  }
}

// ---- Routes -----------------------------------------------------------------------------------

const QUANTITY = /^(10|[1-9])$/;
const TEXT = /^[^\p{C}]{1,64}$/u;

export function registerPortalRewards(app: OpenAPIHono<AppEnv>) {
  const available = async (c: Context<AppEnv>, memberId: string) => (await memberBalance(c.var.services.db(), memberId, c.var.services.now())).balance.available;
  const makerOf = (c: Context<AppEnv>, s: PortalSession) => (s.partnerId ? portalMaker(c.var.services.db(), s.partnerId, s.memberId) : Promise.resolve(null));

  async function confirmPage(c: Context<AppEnv>, s: PortalSession, reward: PortalReward, quantity: number, extra: Partial<ConfirmProps> = {}, status = 200) {
    const props: ConfirmProps = {
      csrf: await csrfFor(s.token),
      nonce: mintFormNonce(s.token),
      reward,
      available: extra.available ?? (await available(c, s.memberId)),
      quantity,
      maker: extra.maker !== undefined ? extra.maker : await makerOf(c, s),
      ...extra,
    };
    return html(c, <ConfirmPage {...props} />, status);
  }

  const rewardGone = async (c: Context<AppEnv>, s: PortalSession) =>
    html(
      c,
      <GonePage
        csrf={await csrfFor(s.token)}
        title="This reward is not available"
        message="It may have been paused, retired or removed from the catalogue."
        back={{ href: "/portal/rewards", label: "See all rewards" }}
        current="rewards"
      />,
      404,
    );
  const redemptionGone = async (c: Context<AppEnv>, s: PortalSession) =>
    html(
      c,
      <GonePage csrf={await csrfFor(s.token)} title="No such reward of yours" message="We could not find this reward in your account." back={{ href: "/portal/my-rewards", label: "My rewards" }} current="mine" />,
      404,
    );

  app.get("/portal/rewards", async (c) => {
    const s = await currentSession(c);
    if (!s) return sessionEnded(c);
    const db = c.var.services.db();
    const [points, rewards, maker] = [await available(c, s.memberId), await portalCatalogue(db, s.memberId), await makerOf(c, s)];
    return html(c, <CataloguePage csrf={await csrfFor(s.token)} available={points} rewards={rewards} maker={maker} />);
  });

  app.get("/portal/rewards/:reward_id", async (c) => {
    const s = await currentSession(c);
    if (!s) return sessionEnded(c);
    const reward = await portalReward(c.var.services.db(), s.memberId, c.req.param("reward_id"));
    if (!reward) return rewardGone(c, s);
    const asked = c.req.query("quantity");
    const points = await available(c, s.memberId);
    // A quantity in the address beyond what is left or affordable shows the most there is.
    const most = Math.max(1, Math.min(unitsLeftFor(reward), Math.floor(points / reward.points)));
    const quantity = Math.min(asked && QUANTITY.test(asked) ? Number(asked) : 1, most);
    return confirmPage(c, s, reward, quantity, { available: points });
  });

  app.post("/portal/rewards/:reward_id/redeem", async (c) => {
    const s = await currentSession(c);
    if (!s) return sessionEnded(c);
    const form = await checkForm(c, await csrfFor(s.token));
    const { db, config, now } = { db: c.var.services.db(), config: c.var.services.config, now: c.var.services.now() };
    // Any reward the member may have confirmed, active or not: a replayed form is answered with its stored outcome.
    const reward = await portalReward(db, s.memberId, c.req.param("reward_id"), false);
    if (!reward) return rewardGone(c, s);
    const quantity = typeof form.quantity === "string" && QUANTITY.test(form.quantity) ? Number(form.quantity) : null;
    const formKey = formNonceKey(s.token, form.nonce);
    if (quantity === null) return confirmPage(c, s, reward, 1, { error: "Please choose a quantity from 1 to 10." }, 422);
    if (!formKey) return confirmPage(c, s, reward, quantity, { error: "This confirmation has expired. Please check the details and confirm again." }, 422);
    let transferAccount: string | undefined;
    if (reward.kind === "transfer") {
      transferAccount = typeof form.transfer_account === "string" ? form.transfer_account.trim() : "";
      if (!TEXT.test(transferAccount))
        return confirmPage(c, s, reward, quantity, { transferAccount, error: "Please enter your account number.", fieldError: `Enter your ${reward.transfer!.program} number (up to 64 characters).` }, 422);
    }
    // The ledger checks the member's link to the maker; a suspended maker (or a session that names none) is checked here.
    const maker = await makerOf(c, s);
    if (!maker || maker.reason === "suspended") return confirmPage(c, s, reward, quantity, { maker, transferAccount }, 422);
    const outcome = await post(() =>
      redeemInPortal(db, config, s.partnerId!, { reward_id: reward.reward_id, quantity, transfer_account: transferAccount }, { memberId: s.memberId, formKey, requestId: c.var.requestId, now }),
    );
    if ("result" in outcome) return c.redirect(`/portal/my-rewards?redeemed=${String(outcome.result.redemption_id)}`, 303);
    const refusal = refusalOf(outcome);
    if (reward.status !== "active") return rewardGone(c, s);
    // No longer linked to the maker: the page's notice about the maker says it all.
    const error = refusal.code === "member_not_found" && !maker.usable ? undefined : refusalMessage(refusal.code, refusal.detail, { reward, available: await available(c, s.memberId), maker });
    return confirmPage(c, s, reward, quantity, { transferAccount, error, maker }, 422);
  });

  app.get("/portal/my-rewards", async (c) => {
    const s = await currentSession(c);
    if (!s) return sessionEnded(c);
    const db = c.var.services.db();
    const now = c.var.services.now();
    const points = await available(c, s.memberId);
    const list = await memberRedemptions(db, s.memberId, now);
    const redeemed = c.req.query("redeemed");
    const cancelled = c.req.query("cancelled");
    let notice: string | undefined;
    let highlight: string | undefined;
    const done = list.find((r) => r.redemption_id === (redeemed ?? cancelled));
    if (done && redeemed && done.status !== "cancelled") {
      highlight = done.redemption_id;
      notice =
        `Done: ${formatPoints(done.points)} points redeemed for ${done.quantity > 1 ? `${done.quantity} × ` : ""}${done.reward_name}. ` +
        (done.kind === "voucher" ? `Show the code below at ${done.supplier_name}.` : `${done.supplier_name} has your request.`);
    } else if (done && cancelled && done.status === "cancelled") {
      highlight = done.redemption_id;
      notice = `Cancelled: ${formatPoints(done.points)} points are back in your balance.`;
    }
    return html(c, <MyRewardsPage csrf={await csrfFor(s.token)} available={points} redemptions={list} notice={notice} highlight={highlight} />);
  });

  app.get("/portal/my-rewards/:redemption_id/cancel", async (c) => {
    const s = await currentSession(c);
    if (!s) return sessionEnded(c);
    const r = await memberRedemption(c.var.services.db(), s.memberId, c.req.param("redemption_id"), c.var.services.now());
    if (!r) return redemptionGone(c, s);
    return html(c, <CancelPage csrf={await csrfFor(s.token)} nonce={mintFormNonce(s.token)} r={r} />);
  });

  app.post("/portal/my-rewards/:redemption_id/cancel", async (c) => {
    const s = await currentSession(c);
    if (!s) return sessionEnded(c);
    const form = await checkForm(c, await csrfFor(s.token));
    const { db, config, now } = { db: c.var.services.db(), config: c.var.services.config, now: c.var.services.now() };
    // Only the member's own redemption; the maker is the redemption's own partner, never the form's word.
    const r = await memberRedemption(db, s.memberId, c.req.param("redemption_id"), now);
    if (!r) return redemptionGone(c, s);
    const csrf = await csrfFor(s.token);
    const formKey = formNonceKey(s.token, form.nonce);
    if (!formKey) return html(c, <CancelPage csrf={csrf} nonce={mintFormNonce(s.token)} r={r} error="This confirmation has expired. Please confirm again." />, 422);
    const outcome = await post(() => cancelInPortal(db, config, r, { memberId: s.memberId, formKey, requestId: c.var.requestId, now }));
    if ("result" in outcome) return c.redirect(`/portal/my-rewards?cancelled=${r.redemption_id}`, 303);
    const refusal = refusalOf(outcome);
    const fresh = (await memberRedemption(db, s.memberId, r.redemption_id, now)) ?? r;
    return html(c, <CancelPage csrf={csrf} nonce={mintFormNonce(s.token)} r={fresh} error={refusalMessage(refusal.code, refusal.detail, {})} />, 422);
  });
}
