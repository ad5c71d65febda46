/**
 * The members' own economy in the portal: "Send & receive" (a receive code to hand a sender, with
 * its QR code; sending points with a review and a confirmation step) and "Invite" (the member's
 * referral code and how its referrals went). Sending is the partner API's transfer posting
 * (`transferInPortal`); a refusal is a message on the page.
 */
import type { Context } from "hono";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/env.js";
import { DomainError } from "../errors.js";
import type { LedgerOutcome } from "../ledger/post.js";
import { plainCode, groupedCode } from "../lib/codes.js";
import { memberBalance } from "../members/members.js";
import { createReceiveCode, RECEIVE_CODE_SHAPE, RECEIVE_CODE_TTL_SECONDS, referralCodeOf, referralSummary, sentToday, sentTransfer, transferInPortal } from "../members/economy.js";
import { formNonceKey, mintFormNonce } from "../members/portal-postings.js";
import { csrfFor } from "../members/portal.js";
import { portalMaker, type PortalMaker } from "../rewards/portal.js";
import { checkForm, formatDate, formatPoints, html } from "./layout.js";
import { currentSession, Notice, PortalPage, sessionEnded, type PortalSession } from "./portal-kit.js";
import { QrCode } from "./portal-rewards.js";

const POINTS = /^[1-9][0-9]{0,9}$/;

interface SendState {
  available: number;
  /** What the member may still send today under the daily limit. */
  allowance: number;
  limit: number;
  maker: PortalMaker | null;
}

/** Sending goes through the brand the account was opened from; say so when that brand cannot. */
function SenderProblem(props: { maker: PortalMaker | null }) {
  const m = props.maker;
  if (m?.usable) return null;
  return (
    <Notice tone="error">
      <p>
        {!m
          ? "Points are sent through the brand whose app or website opened your account, and this session does not say which one that was."
          : m.reason === "unlinked"
            ? `You opened your account from ${m.name}, and your account is no longer linked to ${m.name}.`
            : `${m.name}, where you opened your account, cannot send points at the moment.`}
      </p>
      <p>To send points, open your account again from the app or website of another brand you are a member with. You can still receive points.</p>
    </Notice>
  );
}

function ReceiveCard(props: { csrf: string; code?: { code: string; expires_at: string } }) {
  return (
    <section class="card" aria-labelledby="receive-h">
      <h2 id="receive-h">Receive points</h2>
      {props.code ? (
        <div class="receive-code" role="status">
          <QrCode text={props.code.code} label={`QR code of your receive code ${props.code.code}`} />
          <div>
            <p>Give this code to the person sending you points. It works once, until {formatDate(props.code.expires_at)}.</p>
            <p class="code" data-testid="receive-code">
              {props.code.code}
            </p>
          </div>
        </div>
      ) : (
        <p class="muted">Ask for a code and give it to the person sending you points. It works once, for {RECEIVE_CODE_TTL_SECONDS / 60} minutes.</p>
      )}
      <form method="post" action="/portal/transfer/receive-code">
        <input type="hidden" name="csrf" value={props.csrf} />
        <button type="submit" class={props.code ? "secondary" : undefined}>
          {props.code ? "Make a new code" : "Get a receive code"}
        </button>
      </form>
    </section>
  );
}

/** What the send form shows again after a refusal: what the member typed, and why it was refused. */
interface SendInput {
  code?: string;
  points?: string;
  error?: string;
  fieldErrors?: { code?: string; points?: string };
}

function SendForm(props: { csrf: string; state: SendState } & SendInput) {
  const { state } = props;
  const most = Math.min(state.available, state.allowance);
  return (
    <section class="card" aria-labelledby="send-h">
      <h2 id="send-h">Send points</h2>
      <SenderProblem maker={state.maker} />
      <p>
        You have <strong data-testid="available">{formatPoints(state.available)}</strong> points available. You can send up to{" "}
        <strong data-testid="allowance">{formatPoints(state.allowance)}</strong> more today (at most {formatPoints(state.limit)} a day).
      </p>
      {state.maker?.usable && most > 0 ? (
        <form method="post" action="/portal/transfer/review" novalidate>
          <input type="hidden" name="csrf" value={props.csrf} />
          <p class="field">
            <label for="code">Their receive code</label>
            <input
              id="code"
              name="code"
              required
              maxlength={32}
              autocomplete="off"
              autocapitalize="characters"
              spellcheck={false}
              value={props.code ?? ""}
              aria-invalid={props.fieldErrors?.code ? "true" : undefined}
              aria-describedby={props.fieldErrors?.code ? "code-error code-hint" : "code-hint"}
            />
            <span id="code-hint" class="muted small">
              12 letters and digits, like K7Q2-M9XD-4TRW. The person receiving gets it from their account.
            </span>
            {props.fieldErrors?.code ? (
              <span id="code-error" class="field-error">
                {props.fieldErrors.code}
              </span>
            ) : null}
          </p>
          <p class="field">
            <label for="points">Points to send</label>
            <input
              id="points"
              name="points"
              inputmode="numeric"
              required
              maxlength={10}
              value={props.points ?? ""}
              aria-invalid={props.fieldErrors?.points ? "true" : undefined}
              aria-describedby={props.fieldErrors?.points ? "points-error points-hint" : "points-hint"}
            />
            <span id="points-hint" class="muted small">
              From 1 to {formatPoints(most)}.
            </span>
            {props.fieldErrors?.points ? (
              <span id="points-error" class="field-error">
                {props.fieldErrors.points}
              </span>
            ) : null}
          </p>
          <p class="actions">
            <button type="submit">Review</button>
          </p>
        </form>
      ) : state.maker?.usable ? (
        <p class="muted">{state.available === 0 ? "You have no points to send yet." : "You have sent as much as you can today. Try again tomorrow (UTC)."}</p>
      ) : null}
    </section>
  );
}

function TransferPage(props: { csrf: string; state: SendState; receive?: { code: string; expires_at: string }; notice?: string; send?: SendInput }) {
  return (
    <PortalPage title="Send & receive points" current="transfer" csrf={props.csrf}>
      <h1>Send & receive points</h1>
      {props.notice ? (
        <Notice>
          <p data-testid="notice">{props.notice}</p>
        </Notice>
      ) : null}
      {props.send?.error ? (
        <Notice tone="error">
          <p data-testid="refusal">{props.send.error}</p>
        </Notice>
      ) : null}
      <p class="lead">Give points to a friend or family member with an account at any brand in the coalition, or receive theirs.</p>
      <ReceiveCard csrf={props.csrf} code={props.receive} />
      <SendForm {...(props.send ?? {})} csrf={props.csrf} state={props.state} />
    </PortalPage>
  );
}

function ReviewPage(props: { csrf: string; nonce: string; code: string; points: number; state: SendState; error?: string }) {
  const after = props.state.available - props.points;
  return (
    <PortalPage title="Confirm sending points" current="transfer" csrf={props.csrf}>
      <p class="back">
        <a href="/portal/transfer">← Send & receive</a>
      </p>
      <h1>Send {formatPoints(props.points)} points?</h1>
      {props.error ? (
        <Notice tone="error">
          <p data-testid="refusal">{props.error}</p>
        </Notice>
      ) : null}
      <SenderProblem maker={props.state.maker} />
      <section class="card" aria-labelledby="review-h">
        <h2 id="review-h">Your transfer</h2>
        <dl class="summary">
          <dt>To the holder of code</dt>
          <dd class="mono" data-testid="review-code">
            {props.code}
          </dd>
          <dt>Points</dt>
          <dd data-testid="review-points">{formatPoints(props.points)}</dd>
          <dt>Available now</dt>
          <dd>{formatPoints(props.state.available)}</dd>
          <dt>After sending</dt>
          <dd class={after < 0 ? "warn" : undefined}>{after < 0 ? `${formatPoints(-after)} points short` : `${formatPoints(after)} points`}</dd>
        </dl>
        <p>A transfer cannot be undone. The points keep their expiry dates.</p>
        {props.state.maker?.usable ? (
          <form method="post" action="/portal/transfer/send">
            <input type="hidden" name="csrf" value={props.csrf} />
            <input type="hidden" name="nonce" value={props.nonce} />
            <input type="hidden" name="code" value={props.code} />
            <input type="hidden" name="points" value={String(props.points)} />
            <p class="actions">
              <button type="submit">Confirm: send {formatPoints(props.points)} points</button>
              <a href="/portal/transfer">Change</a>
            </p>
          </form>
        ) : null}
      </section>
    </PortalPage>
  );
}

function InvitePage(props: { csrf: string; code: string; bonus: number; cap: number; summary: { referred: number; paid: number; waiting: number } }) {
  const s = props.summary;
  return (
    <PortalPage title="Invite friends" current="invite" csrf={props.csrf}>
      <h1>Invite friends</h1>
      <p class="lead">
        When a friend joins any brand in the coalition with your code and makes a first purchase, you both get {formatPoints(props.bonus)} points.
      </p>
      <section class="card" aria-labelledby="code-h">
        <h2 id="code-h">Your referral code</h2>
        <div class="receive-code">
          <QrCode text={props.code} label={`QR code of your referral code ${props.code}`} />
          <div>
            <p class="code" data-testid="referral-code">
              {props.code}
            </p>
            <p class="muted small">Your friend enters it when joining. It stays the same, so you can share it as often as you like.</p>
          </div>
        </div>
      </section>
      <section class="card" aria-labelledby="referrals-h">
        <h2 id="referrals-h">Your referrals</h2>
        <dl class="stats">
          <div>
            <dt>Friends who joined</dt>
            <dd data-testid="referred">{formatPoints(s.referred)}</dd>
          </div>
          <div>
            <dt>Bonuses paid to you</dt>
            <dd data-testid="paid">{formatPoints(s.paid)}</dd>
          </div>
          <div>
            <dt>Waiting for a first purchase</dt>
            <dd data-testid="waiting">{formatPoints(s.waiting)}</dd>
          </div>
        </dl>
        <p class="muted small">
          You can receive a bonus for up to {formatPoints(props.cap)} friends in any 12 months. Your friend gets their bonus every time.
        </p>
      </section>
    </PortalPage>
  );
}

// ---- Refusals, as a member reads them ---------------------------------------------------------

function refusalMessage(code: string, state: SendState): string {
  switch (code) {
    case "receive_code_invalid":
      return "This code doesn't work: it may have expired (codes last 15 minutes), been used already, or be your own. Ask for a new one.";
    case "transfer_limit_reached":
      return `That is more than you can send today: up to ${formatPoints(state.allowance)} more points (at most ${formatPoints(state.limit)} a day).`;
    case "insufficient_points":
      return `You don't have enough points for this: you have ${formatPoints(state.available)} available.`;
    case "member_not_found":
      return "Your account is no longer linked to the brand you opened it from, so points cannot be sent through it.";
    case "idempotency_key_reused":
      return "This confirmation was already used for a different transfer. Please check the details and confirm again.";
    default:
      return "Something went wrong on our side; nothing was sent. Please try again.";
  }
}

// ---- Routes -----------------------------------------------------------------------------------

export function registerPortalEconomy(app: OpenAPIHono<AppEnv>) {
  async function sendState(c: Context<AppEnv>, s: PortalSession): Promise<SendState> {
    const { db, now, config } = { db: c.var.services.db(), now: c.var.services.now(), config: c.var.services.config };
    const { balance } = await memberBalance(db, s.memberId, now);
    const limit = config.memberTransferDailyPoints;
    return {
      available: balance.available,
      allowance: Math.max(0, limit - (await sentToday(db, s.memberId, now))),
      limit,
      maker: s.partnerId ? await portalMaker(db, s.partnerId, s.memberId) : null,
    };
  }

  /** The form's fields, checked as the member typed them; errors by field. */
  function readSend(form: Record<string, unknown>, state: SendState) {
    const rawCode = typeof form.code === "string" ? form.code.slice(0, 64) : "";
    const rawPoints = typeof form.points === "string" ? form.points.trim().replace(/[,\s]/g, "").slice(0, 16) : "";
    const fieldErrors: { code?: string; points?: string } = {};
    const code = plainCode(rawCode);
    if (!RECEIVE_CODE_SHAPE.test(code)) fieldErrors.code = "Enter the 12-character code the person receiving gave you.";
    const points = POINTS.test(rawPoints) ? Number(rawPoints) : NaN;
    if (!Number.isSafeInteger(points) || points < 1) fieldErrors.points = "Enter a whole number of points, 1 or more.";
    else if (points > state.available) fieldErrors.points = `You have ${formatPoints(state.available)} points available.`;
    else if (points > state.allowance) fieldErrors.points = `You can send up to ${formatPoints(state.allowance)} more points today.`;
    return { code: groupedCode(code), rawCode, rawPoints, points, fieldErrors };
  }

  async function transferPage(c: Context<AppEnv>, s: PortalSession, extra: Omit<Parameters<typeof TransferPage>[0], "csrf" | "state"> = {}, status = 200) {
    return html(c, <TransferPage csrf={await csrfFor(s.token)} state={await sendState(c, s)} {...extra} />, status);
  }

  app.get("/portal/transfer", async (c) => {
    const s = await currentSession(c);
    if (!s) return sessionEnded(c);
    const sent = await sentTransfer(c.var.services.db(), s.memberId, c.req.query("sent") ?? "");
    return transferPage(c, s, sent ? { notice: `Sent: ${formatPoints(sent.points)} points are on their way to the holder of the code.` } : {});
  });

  app.post("/portal/transfer/receive-code", async (c) => {
    const s = await currentSession(c);
    if (!s) return sessionEnded(c);
    await checkForm(c, await csrfFor(s.token));
    const now = c.var.services.now();
    const code = await c.var.services.db().transaction((tx) => createReceiveCode(tx, s.memberId, null, now));
    return transferPage(c, s, { receive: code });
  });

  app.post("/portal/transfer/review", async (c) => {
    const s = await currentSession(c);
    if (!s) return sessionEnded(c);
    const form = await checkForm(c, await csrfFor(s.token));
    const state = await sendState(c, s);
    const read = readSend(form, state);
    if (read.fieldErrors.code || read.fieldErrors.points)
      return transferPage(c, s, { send: { code: read.rawCode, points: read.rawPoints, fieldErrors: read.fieldErrors } }, 422);
    return html(c, <ReviewPage csrf={await csrfFor(s.token)} nonce={mintFormNonce(s.token)} code={read.code} points={read.points} state={state} />);
  });

  app.post("/portal/transfer/send", async (c) => {
    const s = await currentSession(c);
    if (!s) return sessionEnded(c);
    const form = await checkForm(c, await csrfFor(s.token));
    const { db, config, now } = { db: c.var.services.db(), config: c.var.services.config, now: c.var.services.now() };
    const state = await sendState(c, s);
    const rawCode = typeof form.code === "string" ? form.code.slice(0, 64) : "";
    const code = plainCode(rawCode);
    const points = typeof form.points === "string" && POINTS.test(form.points) ? Number(form.points) : NaN;
    if (!RECEIVE_CODE_SHAPE.test(code) || !Number.isSafeInteger(points))
      return transferPage(c, s, { send: { code: rawCode, error: "Please check the code and the points, then review again." } }, 422);
    const review = async (error: string) =>
      html(c, <ReviewPage csrf={await csrfFor(s.token)} nonce={mintFormNonce(s.token)} code={groupedCode(code)} points={points} state={await sendState(c, s)} error={error} />, 422);
    const formKey = formNonceKey(s.token, form.nonce);
    if (!formKey) return review("This confirmation has expired. Please confirm again.");
    if (!state.maker?.usable || !s.partnerId) return review(refusalMessage("member_not_found", state));
    let outcome: LedgerOutcome;
    try {
      outcome = await transferInPortal(db, config, s.partnerId, { code, points }, { memberId: s.memberId, formKey, requestId: c.var.requestId, now });
    } catch (err) {
      // Refused before anything was posted (a key reused for another transfer, a replayed token).
      if (!(err instanceof DomainError)) throw err;
      outcome = { refusal: { code: err.code, detail: err.detail }, request_id: "", replayed: false };
    }
    if ("result" in outcome) return c.redirect(`/portal/transfer?sent=${String(outcome.result.transfer_id)}`, 303);
    return review(refusalMessage("refusal" in outcome ? outcome.refusal.code : "internal_error", await sendState(c, s)));
  });

  app.get("/portal/invite", async (c) => {
    const s = await currentSession(c);
    if (!s) return sessionEnded(c);
    const { db, now, config } = { db: c.var.services.db(), now: c.var.services.now(), config: c.var.services.config };
    const code = await referralCodeOf(db, s.memberId, now);
    return html(
      c,
      <InvitePage csrf={await csrfFor(s.token)} code={code} bonus={config.referralBonusPoints} cap={config.referralMaxPerYear} summary={await referralSummary(db, s.memberId)} />,
    );
  });
}
