ALTER TABLE "idempotency_keys" ADD COLUMN "outcome" jsonb;--> statement-breakpoint
-- Refusals carry a domain code only now (sql/01_helpers.sql defines ledger_refusal(code, detail)).
DROP FUNCTION IF EXISTS ledger_refusal(integer, text, text);
