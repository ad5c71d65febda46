-- Double entry: one entry per account leg, postings that must balance, append-only ledger rows, and the balance and transaction objects the API shows.
-- The one current definition of each function here; `npm run db:migrate` applies this file
-- whenever it changes (see src/db/functions.ts). Change the function here, never in a migration.

CREATE OR REPLACE FUNCTION ledger_entry(posting text, account text, amount bigint)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
BEGIN
  IF amount <> 0 THEN
    INSERT INTO entries (posting_id, account, amount) VALUES (posting, account, amount);
  END IF;
END $function$;

CREATE OR REPLACE FUNCTION ledger_check_balanced()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE total bigint;
BEGIN
  SELECT coalesce(sum(amount), 0) INTO total FROM entries WHERE posting_id = NEW.posting_id;
  IF total <> 0 THEN
    RAISE EXCEPTION 'posting % does not balance (sum of entries %)', NEW.posting_id, total USING ERRCODE = 'CLI01';
  END IF;
  RETURN NULL;
END $function$;

CREATE OR REPLACE FUNCTION ledger_refuse_change()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  RAISE EXCEPTION 'ledger rows are append-only: % on % refused; post a correction instead', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'CLI01';
END $function$;

CREATE OR REPLACE FUNCTION ledger_balance_json(member text)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE b jsonb;
BEGIN
  SELECT jsonb_build_object('available', available, 'pending', pending, 'held', held) INTO b FROM members WHERE id = member;
  RETURN b;
END $function$;

CREATE OR REPLACE FUNCTION ledger_txn_json(p postings, now timestamp with time zone)
 RETURNS jsonb
 LANGUAGE sql
 STABLE
AS $function$
  SELECT jsonb_strip_nulls(jsonb_build_object(
    'transaction_id', p.id,
    'type', p.type,
    'partner_id', p.partner_id,
    'member_id', p.member_id,
    'points', p.points,
    'reference', p.reference,
    'status', CASE WHEN p.available_at IS NOT NULL AND p.available_at > now THEN 'pending' ELSE 'posted' END,
    'created_at', ledger_ts(p.created_at),
    'available_at', ledger_ts(p.available_at),
    'original_transaction_id', p.original_id
  )) || jsonb_build_object('reference', p.reference, 'partner_id', p.partner_id)
$function$;
