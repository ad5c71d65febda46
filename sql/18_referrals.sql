-- Referral bonuses: paid once a referred member's first earn is posted (or released), to both members, by the operator.
-- The one current definition of each function here; `npm run db:migrate` applies this file
-- whenever it changes (see src/db/functions.ts). Change the function here, never in a migration.
-- The referred member is locked already (its earn or release is under way). The referrer is taken
-- only if free (SKIP LOCKED): a posting never waits for a second member, so none can deadlock;
-- a busy referrer's bonus stays due and is paid by its next posting or read, or by the job.

-- One referral_bonus posting: operator-funded points as a lot of their own (issuer: none), with the
-- referral's expiry (that of the purchase that qualified it).
CREATE OR REPLACE FUNCTION ledger_referral_bonus(r referrals, member text, now timestamp with time zone)
 RETURNS text
 LANGUAGE plpgsql
AS $function$
-- Its id is minted a millisecond on: lots that expire together are spent in id order, and a bonus
-- lot expires with the purchase that paid it, so it is spent after that purchase's points, never by chance before.
DECLARE pid text := ledger_new_id('txn', now + interval '1 millisecond');
BEGIN
  INSERT INTO postings (id, type, partner_id, member_id, points, operator_funded_points, reference, created_at, original_id)
  -- Nothing of the other member shows on it: the referrer's partners never learn who was referred.
  VALUES (pid, 'referral_bonus', NULL, member, r.bonus_points, r.bonus_points,
          CASE WHEN member = r.referred_id THEN 'referral:referred' ELSE 'referral:referrer' END, now,
          CASE WHEN member = r.referred_id THEN r.qualifying_posting_id END);
  PERFORM ledger_entry(pid, 'operator:referrals', -r.bonus_points);
  PERFORM ledger_entry(pid, 'member:' || member || ':available', r.bonus_points);
  PERFORM ledger_credit(pid, member, NULL, r.bonus_points, now, now, r.bonus_expires_at, false);
  RETURN pid;
END $function$;

-- Called with the referred member locked, after an earn of it is posted or released (`posting`).
CREATE OR REPLACE FUNCTION ledger_referral_qualify(member text, posting text, now timestamp with time zone)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE r referrals;
BEGIN
  SELECT * INTO r FROM referrals WHERE referred_id = member AND qualified_at IS NULL FOR UPDATE;
  IF r.referred_id IS NULL THEN RETURN; END IF;
  -- Only an earn qualifies (activities and bonuses do not).
  IF NOT EXISTS (SELECT 1 FROM postings WHERE id = posting AND type = 'earn') THEN RETURN; END IF;
  UPDATE referrals SET qualified_at = now, qualifying_posting_id = posting,
                       bonus_expires_at = (SELECT expires_at FROM lots WHERE id = posting)
   WHERE referred_id = member RETURNING * INTO r;
  UPDATE referrals SET referred_posting_id = ledger_referral_bonus(r, member, now) WHERE referred_id = member RETURNING * INTO r;
  PERFORM ledger_emit(r.partner_id, 'referral.completed', jsonb_build_object(
    'member_id', member, 'referred_by', r.referrer_id, 'bonus_points', r.bonus_points,
    'transaction_id', r.referred_posting_id, 'completed_at', ledger_ts(now)), now);
  -- The referrer now, if no other transaction holds it; otherwise it stays due.
  PERFORM 1 FROM members WHERE id = r.referrer_id FOR UPDATE SKIP LOCKED;
  IF FOUND THEN PERFORM ledger_referrer_pay(r, now); END IF;
END $function$;

-- The referrer's side of a due referral, with the referrer locked: paid, or capped when it already
-- had its referral_cap bonuses in the 12 months before now, or forfeited when it was erased.
CREATE OR REPLACE FUNCTION ledger_referrer_pay(r referrals, now timestamp with time zone)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE paid int; outcome text := 'paid'; pid text;
BEGIN
  SELECT * INTO r FROM referrals WHERE referred_id = r.referred_id FOR UPDATE;
  IF r.qualified_at IS NULL OR r.referrer_outcome IS NOT NULL THEN RETURN; END IF;
  SELECT count(*) INTO paid FROM referrals
   WHERE referrer_id = r.referrer_id AND referrer_outcome = 'paid' AND referrer_decided_at > now - interval '12 months';
  IF NOT EXISTS (SELECT 1 FROM members WHERE id = r.referrer_id AND status = 'active') THEN
    outcome := 'forfeited';
  ELSIF paid >= r.referrer_cap THEN
    outcome := 'capped';
  ELSE
    pid := ledger_referral_bonus(r, r.referrer_id, now);
  END IF;
  UPDATE referrals SET referrer_outcome = outcome, referrer_posting_id = pid, referrer_decided_at = now WHERE referred_id = r.referred_id;
END $function$;

-- Every due referrer bonus of one member (locked by the caller), oldest first.
CREATE OR REPLACE FUNCTION ledger_referrer_pay_due(member text, now timestamp with time zone)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE r referrals;
BEGIN
  FOR r IN SELECT * FROM referrals WHERE referrer_id = member AND qualified_at IS NOT NULL AND referrer_outcome IS NULL
            ORDER BY qualified_at, referred_id LOOP
    PERFORM ledger_referrer_pay(r, now);
  END LOOP;
END $function$;
