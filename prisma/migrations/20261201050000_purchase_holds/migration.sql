-- Purchases hold the money (docs/invariants.md, "Stock: the inventory"): inventory_purchase places
-- the hold of the order's total on the paying account in the same transaction that takes the stock, and
-- writes the PENDING PAYMENT together with the order that links it, or refuses with
-- 'insufficient-funds' and writes nothing. A payment therefore never exists without its order, and a
-- cancelled order is never charged: the fulfilment settles the linked payment or fails it.

-- Every currency an item is priced in has its house account (createItem opens it from now on).
INSERT INTO "ledger_accounts" ("id", "owner_id", "currency", "updated_at")
SELECT gen_random_uuid()::text, 'house', i."currency", now()
FROM (SELECT DISTINCT "currency" FROM "inventory_items") i
WHERE EXISTS (SELECT 1 FROM "users" WHERE "id" = 'house')
ON CONFLICT ("owner_id", "currency") DO NOTHING;

DROP FUNCTION "inventory_purchase"(TEXT, TEXT, TEXT, TEXT, INTEGER, TEXT, TEXT);

CREATE FUNCTION "inventory_purchase"(
  p_order_id TEXT,
  p_buyer_id TEXT,
  p_item_id TEXT,
  p_account_id TEXT,
  p_quantity INTEGER,
  p_idempotency_key TEXT,
  p_request_hash TEXT,
  p_payment_id TEXT,
  OUT "r_outcome" TEXT,
  OUT "r_order_id" TEXT,
  OUT "r_request_hash" TEXT,
  OUT "r_total" BIGINT,
  OUT "r_created_at" TIMESTAMPTZ(3),
  OUT "r_item_currency" TEXT,
  OUT "r_account_currency" TEXT,
  OUT "r_limit_per_user" INTEGER,
  OUT "r_house_account_id" TEXT
)
LANGUAGE plpgsql AS $$
DECLARE
  item RECORD;
  account RECORD;
  units BIGINT;
  total BIGINT;
BEGIN
  -- 1. The idempotency key: requests of one buyer with one key run one at a
  --    time (a transaction-scoped lock, released at commit), so a repeat sees
  --    the first one's order, committed, and returns it ('duplicate').
  PERFORM pg_advisory_xact_lock(hashtextextended(p_buyer_id || '/' || p_idempotency_key, 0));
  SELECT o."id", o."request_hash" INTO "r_order_id", "r_request_hash"
    FROM "orders" o WHERE o."buyer_id" = p_buyer_id AND o."idempotency_key" = p_idempotency_key;
  IF FOUND THEN
    "r_outcome" := 'duplicate';
    RETURN;
  END IF;

  -- 2. What is bought, and what pays for it.
  SELECT i."price", i."currency", i."limit_per_user" INTO item FROM "inventory_items" i WHERE i."id" = p_item_id;
  IF NOT FOUND THEN
    "r_outcome" := 'no-such-item';
    RETURN;
  END IF;
  "r_item_currency" := item."currency";
  "r_limit_per_user" := item."limit_per_user";
  SELECT a."owner_id", a."currency" INTO account FROM "ledger_accounts" a WHERE a."id" = p_account_id;
  IF NOT FOUND OR account."owner_id" <> p_buyer_id THEN
    "r_outcome" := 'no-such-account';
    RETURN;
  END IF;
  "r_account_currency" := account."currency";
  IF account."currency" <> item."currency" THEN
    "r_outcome" := 'currency-mismatch';
    RETURN;
  END IF;

  -- 3. The limit, checked before the stock. One buyer's purchases of one item
  --    queue on a transaction-scoped lock of that (buyer, item) pair; other
  --    buyers never wait on it. Under it, this statement's fresh snapshot
  --    (READ COMMITTED, a VOLATILE function) sees every order committed before
  --    the lock was granted.
  IF item."limit_per_user" IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(hashtext(p_buyer_id), hashtext(p_item_id));
    SELECT COALESCE(SUM(o."quantity"), 0) INTO units FROM "orders" o
      WHERE o."buyer_id" = p_buyer_id AND o."item_id" = p_item_id AND o."status" <> 'CANCELLED';
    IF units + p_quantity > item."limit_per_user" THEN
      "r_outcome" := 'limit-exceeded';
      RETURN;
    END IF;
  END IF;

  -- 4. A look at the stock, without a lock: a sold-out item is refused before the account is touched.
  IF (SELECT i."stock" FROM "inventory_items" i WHERE i."id" = p_item_id) < p_quantity THEN
    "r_outcome" := 'sold-out';
    RETURN;
  END IF;

  -- 5. The money: a hold of the total on the paying account, as a transfer places one (available =
  --    balance - held), in the house account's name. Only the buyer's own account row is locked.
  total := item."price" * p_quantity;
  IF total > 0 THEN
    SELECT a."id" INTO "r_house_account_id" FROM "ledger_accounts" a
      WHERE a."owner_id" = 'house' AND a."currency" = item."currency";
    IF NOT FOUND THEN
      RAISE EXCEPTION 'no house account in % (createItem opens it)', item."currency";
    END IF;
    UPDATE "ledger_accounts" AS a SET "held" = a."held" + total, "updated_at" = now()
      WHERE a."id" = p_account_id AND a."balance" - a."held" >= total;
    IF NOT FOUND THEN
      "r_outcome" := 'insufficient-funds';
      RETURN;
    END IF;
  END IF;

  -- 6. The stock: one conditional UPDATE, atomic on the row. Lost to a concurrent buyer since the look
  --    above: the hold is given back in this same transaction, so nothing of this purchase remains.
  UPDATE "inventory_items" AS i SET "stock" = i."stock" - p_quantity, "updated_at" = now()
    WHERE i."id" = p_item_id AND i."stock" >= p_quantity;
  IF NOT FOUND THEN
    IF total > 0 THEN
      UPDATE "ledger_accounts" AS a SET "held" = a."held" - total WHERE a."id" = p_account_id;
    END IF;
    "r_outcome" := 'sold-out';
    RETURN;
  END IF;

  -- 7. The payment, PENDING with that hold, and the order that links it: written together, so no
  --    payment ever exists without its order (a worker settles it: PAID, or fails it: CANCELLED).
  IF total > 0 THEN
    INSERT INTO "ledger_transactions" ("id", "kind", "from_account_id", "to_account_id", "amount", "currency",
      "memo", "initiator_id", "idempotency_key", "request_hash", "updated_at")
    VALUES (p_payment_id, 'PAYMENT', p_account_id, "r_house_account_id", total, item."currency",
      'Order ' || p_order_id, 'house', 'order-' || p_order_id, p_request_hash, now());
  END IF;
  INSERT INTO "orders" ("id", "buyer_id", "item_id", "account_id", "quantity", "total", "status",
    "idempotency_key", "request_hash", "payment_transaction_id", "updated_at")
  VALUES (p_order_id, p_buyer_id, p_item_id, p_account_id, p_quantity, total, 'RESERVED',
    p_idempotency_key, p_request_hash, CASE WHEN total > 0 THEN p_payment_id END, now())
  RETURNING "orders"."created_at", "orders"."total" INTO "r_created_at", "r_total";
  "r_order_id" := p_order_id;
  "r_request_hash" := p_request_hash;
  "r_outcome" := 'reserved';
END;
$$;

CREATE OR REPLACE FUNCTION "ledger_settle"(p_id TEXT) RETURNS TEXT
LANGUAGE plpgsql AS $$
DECLARE
  t RECORD;
  new_balance BIGINT;
BEGIN
  -- NO KEY UPDATE, not UPDATE: accepts hold KEY SHARE locks on accounts through
  -- their foreign keys, and FOR UPDATE would deadlock with them.
  SELECT "status", "kind", "from_account_id", "to_account_id", "amount" INTO t
    FROM "ledger_transactions" WHERE "id" = p_id FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'ledger transaction % does not exist', p_id;
  END IF;
  IF t."status" <> 'PENDING' THEN
    RETURN 'already-settled';
  END IF;

  -- A PAYMENT is settled only as its order's: one that no order links (a fulfilment run of an order
  -- placed before purchases held the money, that died between its hold and its link) is failed and
  -- its hold released, so that a cancelled order is never charged.
  IF t."kind" = 'PAYMENT' AND NOT EXISTS (SELECT 1 FROM "orders" o WHERE o."payment_transaction_id" = p_id) THEN
    UPDATE "ledger_accounts" SET "held" = "held" - t."amount", "updated_at" = now() WHERE "id" = t."from_account_id";
    UPDATE "ledger_transactions"
      SET "status" = 'FAILED', "failure_reason" = 'The payment belongs to no order: nothing was charged.',
        "updated_at" = now()
      WHERE "id" = p_id;
    RETURN 'failed';
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
