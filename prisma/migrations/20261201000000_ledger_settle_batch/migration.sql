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
  t RECORD;
  new_balance BIGINT;
BEGIN
  -- Claim: the oldest PENDING rows no other settlement or failure holds (SKIP
  -- LOCKED: never wait on a row someone else is settling; two batches take
  -- disjoint rows). NO KEY UPDATE, as in ledger_settle: accepts hold KEY SHARE
  -- through their foreign keys. A PAYMENT is settled only by the fulfilment that
  -- placed it, after linking it to its order (docs/invariants.md, "Payment races").
  SELECT array_agg(c."id") INTO claimed FROM (
    SELECT lt."id" FROM "ledger_transactions" lt
    WHERE lt."status" = 'PENDING' AND lt."kind" IN ('TRANSFER', 'DEPOSIT')
    ORDER BY lt."created_at", lt."id"
    LIMIT p_limit
    FOR NO KEY UPDATE SKIP LOCKED
  ) c;
  IF claimed IS NULL THEN
    RETURN;
  END IF;

  -- Every account of the batch, in id order, before any write: the same order
  -- as every other settlement, so batches and single settlements never wait on
  -- each other crosswise.
  PERFORM 1 FROM "ledger_accounts" a
    WHERE a."id" IN (
      SELECT x."from_account_id" FROM "ledger_transactions" x WHERE x."id" = ANY (claimed)
      UNION
      SELECT x."to_account_id" FROM "ledger_transactions" x WHERE x."id" = ANY (claimed))
    ORDER BY a."id" FOR NO KEY UPDATE;

  -- Then each transaction, oldest first, exactly as ledger_settle posts one.
  FOR t IN
    SELECT x."id", x."status", x."from_account_id", x."to_account_id", x."amount"
    FROM "ledger_transactions" x WHERE x."id" = ANY (claimed)
    ORDER BY x."created_at", x."id"
  LOOP
    -- Claimed PENDING under its lock; checked again all the same, as ledger_settle does.
    CONTINUE WHEN t."status" <> 'PENDING';
    -- Each in a subtransaction: a row that cannot be posted (only wrong code could
    -- make one: the CHECKs are the last line) is left PENDING, and the rest of the
    -- batch settles; its own settlement job, which the sweeper delivers, retries it
    -- and finally fails it. Without this, one such row would fail every batch.
    -- The caller keeps p_limit under 64, PostgreSQL's cache of subtransaction ids
    -- per backend, past which every snapshot gets slower.
    BEGIN
      IF t."from_account_id" IS NOT NULL THEN
        UPDATE "ledger_accounts"
          SET "balance" = "balance" - t."amount", "held" = "held" - t."amount", "updated_at" = now()
          WHERE "ledger_accounts"."id" = t."from_account_id"
          RETURNING "balance" INTO new_balance;
        INSERT INTO "ledger_entries" ("id", "transaction_id", "account_id", "amount", "balance_after")
          VALUES (gen_random_uuid()::text, t."id", t."from_account_id", -t."amount", new_balance);
      END IF;
      UPDATE "ledger_accounts"
        SET "balance" = "balance" + t."amount", "updated_at" = now()
        WHERE "ledger_accounts"."id" = t."to_account_id"
        RETURNING "balance" INTO new_balance;
      INSERT INTO "ledger_entries" ("id", "transaction_id", "account_id", "amount", "balance_after")
        VALUES (gen_random_uuid()::text, t."id", t."to_account_id", t."amount", new_balance);
      UPDATE "ledger_transactions"
        SET "status" = 'COMPLETED', "settled_at" = now(), "updated_at" = now()
        WHERE "ledger_transactions"."id" = t."id";
    EXCEPTION WHEN OTHERS THEN
      RAISE WARNING 'ledger_settle_batch: transaction % left PENDING: % (%)', t."id", SQLERRM, SQLSTATE;
    END;
  END LOOP;

  -- What the caller publishes (transactionUpdated, COMPLETED): the parties, so it reads nothing back.
  RETURN QUERY
    SELECT x."id", x."from_account_id", x."to_account_id", f."owner_id", o."owner_id"
    FROM "ledger_transactions" x
    JOIN "ledger_accounts" o ON o."id" = x."to_account_id"
    LEFT JOIN "ledger_accounts" f ON f."id" = x."from_account_id"
    WHERE x."id" = ANY (claimed) AND x."status" = 'COMPLETED';
END;
$$;
