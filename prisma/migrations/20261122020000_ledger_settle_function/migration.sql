-- Settles one PENDING ledger transaction in a single round trip, so the two
-- account rows stay locked for as short a time as possible (they are hot rows:
-- every transfer's accept and settlement touch them). src/modules/ledger/
-- ledger.service.ts (settleTransaction) is the only caller and documents the rules.
CREATE FUNCTION "ledger_settle"(p_id TEXT) RETURNS TEXT
LANGUAGE plpgsql AS $$
DECLARE
  t RECORD;
  new_balance BIGINT;
BEGIN
  -- NO KEY UPDATE, not UPDATE: accepts hold KEY SHARE locks on accounts through
  -- their foreign keys, and FOR UPDATE would deadlock with them.
  SELECT "status", "from_account_id", "to_account_id", "amount" INTO t
    FROM "ledger_transactions" WHERE "id" = p_id FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'ledger transaction % does not exist', p_id;
  END IF;
  IF t."status" <> 'PENDING' THEN
    RETURN 'already-settled';
  END IF;

  -- Both accounts, in id order, so two settlements never wait on each other crosswise.
  PERFORM 1 FROM "ledger_accounts"
    WHERE "id" = t."from_account_id" OR "id" = t."to_account_id"
    ORDER BY "id" FOR NO KEY UPDATE;

  IF t."from_account_id" IS NOT NULL THEN
    UPDATE "ledger_accounts"
      SET "balance" = "balance" - t."amount", "held" = "held" - t."amount", "updated_at" = now()
      WHERE "id" = t."from_account_id"
      RETURNING "balance" INTO new_balance;
    INSERT INTO "ledger_entries" ("id", "transaction_id", "account_id", "amount", "balance_after")
      VALUES (gen_random_uuid()::text, p_id, t."from_account_id", -t."amount", new_balance);
  END IF;

  UPDATE "ledger_accounts"
    SET "balance" = "balance" + t."amount", "updated_at" = now()
    WHERE "id" = t."to_account_id"
    RETURNING "balance" INTO new_balance;
  INSERT INTO "ledger_entries" ("id", "transaction_id", "account_id", "amount", "balance_after")
    VALUES (gen_random_uuid()::text, p_id, t."to_account_id", t."amount", new_balance);

  UPDATE "ledger_transactions"
    SET "status" = 'COMPLETED', "settled_at" = now(), "updated_at" = now()
    WHERE "id" = p_id;
  RETURN 'completed';
END;
$$;
