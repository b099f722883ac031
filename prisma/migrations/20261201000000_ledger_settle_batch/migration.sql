-- Settles up to p_limit PENDING transfers and deposits in one round trip and one
-- transaction: the settlement job's work on either queue backend, so that the
-- queue's cost per job (claim, completion) is shared by a batch instead of paid
-- per transfer. src/modules/ledger/ledger.service.ts (settlePendingTransfers) is
-- the only caller; docs/invariants.md ("Batched settlement") has the rules.
CREATE FUNCTION "ledger_settle_batch"(p_limit INTEGER)
RETURNS TABLE ("id" TEXT, "from_account_id" TEXT, "to_account_id" TEXT, "from_owner_id" TEXT, "to_owner_id" TEXT)
LANGUAGE plpgsql AS $$
-- The OUT columns share names with table columns; every reference is qualified, and a column wins anyway.
#variable_conflict use_column
DECLARE
  claimed TEXT[];
  one TEXT;
BEGIN
  -- Claim: the oldest PENDING rows no other settlement or failure holds (SKIP
  -- LOCKED: never wait on a row someone else is settling; two batches take
  -- disjoint rows; the PENDING condition is re-checked on the row locked). NO
  -- KEY UPDATE, as in ledger_settle: accepts hold KEY SHARE through their
  -- foreign keys. A PAYMENT is settled only by the fulfilment that placed it,
  -- after linking it to its order (docs/invariants.md, "Payment races").
  SELECT array_agg(c."id" ORDER BY c."created_at", c."id") INTO claimed FROM (
    SELECT lt."id", lt."created_at" FROM "ledger_transactions" lt
    WHERE lt."status" = 'PENDING' AND lt."kind" IN ('TRANSFER', 'DEPOSIT')
    ORDER BY lt."created_at", lt."id"
    LIMIT p_limit
    FOR NO KEY UPDATE SKIP LOCKED
  ) c;
  IF claimed IS NULL THEN
    RETURN;
  END IF;

  -- Every account of the batch, in id order, before any write: the order of
  -- every other settlement, so batches and single settlements never wait on
  -- each other crosswise.
  PERFORM 1 FROM "ledger_accounts" a
    WHERE a."id" IN (
      SELECT x."from_account_id" FROM "ledger_transactions" x WHERE x."id" = ANY (claimed)
      UNION
      SELECT x."to_account_id" FROM "ledger_transactions" x WHERE x."id" = ANY (claimed))
    ORDER BY a."id" FOR NO KEY UPDATE;

  BEGIN
    -- The whole batch in one statement, with the effect of posting the rows one
    -- after another, oldest first, as ledger_settle posts one: each account
    -- moves once by the sum of its legs (−amount from a source's balance and
    -- held, +amount to a destination), and each leg's entry carries the balance
    -- after it: the balance before the batch plus the legs up to it, in order.
    -- Each debit is covered by its own hold, part of held ≤ balance, so no
    -- balance along the way is negative, and neither is the last.
    WITH "legs" AS (
      SELECT x."id" AS tx, x."created_at" AS at, 0 AS leg, x."from_account_id" AS account, -x."amount" AS delta,
             x."amount" AS released
      FROM "ledger_transactions" x
      WHERE x."id" = ANY (claimed) AND x."status" = 'PENDING' AND x."from_account_id" IS NOT NULL
      UNION ALL
      SELECT x."id", x."created_at", 1, x."to_account_id", x."amount", 0
      FROM "ledger_transactions" x
      WHERE x."id" = ANY (claimed) AND x."status" = 'PENDING'
    ), "moves" AS (
      SELECT l.account, sum(l.delta) AS delta, sum(l.released) AS released FROM "legs" l GROUP BY l.account
    ), "moved" AS (
      UPDATE "ledger_accounts" a
        SET "balance" = a."balance" + m.delta, "held" = a."held" - m.released, "updated_at" = now()
        FROM "moves" m WHERE a."id" = m.account
        RETURNING a."id" AS account, a."balance" - m.delta AS opening
    ), "posted" AS (
      INSERT INTO "ledger_entries" ("id", "transaction_id", "account_id", "amount", "balance_after")
      SELECT gen_random_uuid()::text, l.tx, l.account, l.delta,
             o.opening + sum(l.delta) OVER (PARTITION BY l.account ORDER BY l.at, l.tx, l.leg ROWS UNBOUNDED PRECEDING)
      FROM "legs" l JOIN "moved" o ON o.account = l.account
      RETURNING 1
    )
    UPDATE "ledger_transactions" x
      SET "status" = 'COMPLETED', "settled_at" = now(), "updated_at" = now()
      WHERE x."id" = ANY (claimed) AND x."status" = 'PENDING'; -- "moved" and "posted" run to completion all the same
  EXCEPTION WHEN OTHERS THEN
    -- Only wrong code could get here (the CHECKs are the last line). Then one
    -- by one, each ledger_settle in a subtransaction of its own: a row that
    -- cannot be posted is left PENDING, and the rest of the batch settles; its
    -- own settlement job, which the sweeper delivers, retries it and finally
    -- fails it. Without this, one such row would fail every batch. The caller
    -- keeps p_limit under 63, PostgreSQL's cache of subtransaction ids per
    -- backend, past which every snapshot gets slower.
    RAISE WARNING 'ledger_settle_batch: the batch failed (%: %); settling its rows one by one', SQLSTATE, SQLERRM;
    FOREACH one IN ARRAY claimed LOOP
      BEGIN
        PERFORM "ledger_settle"(one);
      EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'ledger_settle_batch: transaction % left PENDING: % (%)', one, SQLERRM, SQLSTATE;
      END;
    END LOOP;
  END;

  -- What the caller publishes (transactionUpdated, COMPLETED): the parties, so it reads nothing back.
  RETURN QUERY
    SELECT x."id", x."from_account_id", x."to_account_id", f."owner_id", o."owner_id"
    FROM "ledger_transactions" x
    JOIN "ledger_accounts" o ON o."id" = x."to_account_id"
    LEFT JOIN "ledger_accounts" f ON f."id" = x."from_account_id"
    WHERE x."id" = ANY (claimed) AND x."status" = 'COMPLETED';
END;
$$;
