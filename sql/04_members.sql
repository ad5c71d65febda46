-- Resolving a partner's member reference (mbr_… or ext:…) to a member it may act on.
-- The one current definition of each function here; `npm run db:migrate` applies this file
-- whenever it changes (see src/db/functions.ts). Change the function here, never in a migration.

CREATE OR REPLACE FUNCTION ledger_member_for(partner text, ref text, lock boolean DEFAULT true)
 RETURNS text
 LANGUAGE plpgsql
AS $function$
DECLARE m text;
BEGIN
  SELECT l.member_id INTO m FROM member_links l JOIN members mm ON mm.id = l.member_id
   WHERE l.partner_id = partner AND l.unlinked_at IS NULL AND mm.status = 'active'
     AND CASE WHEN ref LIKE 'ext:%' THEN l.external_ref = substr(ref, 5) ELSE l.member_id = ref END;
  IF m IS NOT NULL AND lock THEN
    PERFORM 1 FROM members WHERE id = m FOR UPDATE;
  END IF;
  IF m IS NULL THEN
    PERFORM ledger_refusal('member_not_found', 'No such member is linked to you.');
  END IF;
  RETURN m;
END $function$;
