-- CreateEnum
CREATE TYPE "OrderStatus" AS ENUM ('RESERVED', 'PAID', 'FULFILLED', 'CANCELLED');

-- CreateTable
CREATE TABLE "inventory_items" (
    "id" TEXT NOT NULL,
    "sku" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "price" BIGINT NOT NULL,
    "currency" TEXT NOT NULL,
    "stock" INTEGER NOT NULL,
    "limit_per_user" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "inventory_items_pkey" PRIMARY KEY ("id"),
    -- Not expressible in schema.prisma: the last line of defence for "never oversold".
    CONSTRAINT "inventory_items_stock_check" CHECK ("stock" >= 0),
    CONSTRAINT "inventory_items_price_check" CHECK ("price" >= 0),
    CONSTRAINT "inventory_items_limit_per_user_check" CHECK ("limit_per_user" > 0)
);

-- CreateTable
CREATE TABLE "orders" (
    "id" TEXT NOT NULL,
    "buyer_id" TEXT NOT NULL,
    "item_id" TEXT NOT NULL,
    "account_id" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,
    "total" BIGINT NOT NULL,
    "status" "OrderStatus" NOT NULL DEFAULT 'RESERVED',
    "failure_reason" TEXT,
    "payment_transaction_id" TEXT,
    "idempotency_key" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "orders_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "orders_quantity_check" CHECK ("quantity" > 0),
    CONSTRAINT "orders_total_check" CHECK ("total" >= 0)
);

-- CreateIndex
CREATE UNIQUE INDEX "inventory_items_sku_key" ON "inventory_items"("sku");

-- CreateIndex
CREATE INDEX "inventory_items_created_at_id_idx" ON "inventory_items"("created_at" DESC, "id" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "orders_payment_transaction_id_key" ON "orders"("payment_transaction_id");

-- CreateIndex
CREATE INDEX "orders_buyer_id_created_at_id_idx" ON "orders"("buyer_id", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "orders_buyer_id_item_id_idx" ON "orders"("buyer_id", "item_id");

-- CreateIndex
CREATE INDEX "orders_status_created_at_idx" ON "orders"("status", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "orders_buyer_id_idempotency_key_key" ON "orders"("buyer_id", "idempotency_key");

-- AddForeignKey
ALTER TABLE "orders" ADD CONSTRAINT "orders_buyer_id_fkey" FOREIGN KEY ("buyer_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "orders" ADD CONSTRAINT "orders_item_id_fkey" FOREIGN KEY ("item_id") REFERENCES "inventory_items"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "orders" ADD CONSTRAINT "orders_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "ledger_accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "orders" ADD CONSTRAINT "orders_payment_transaction_id_fkey" FOREIGN KEY ("payment_transaction_id") REFERENCES "ledger_transactions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- A purchase in a single round trip and a single transaction: the order row, the
-- per-buyer limit and the stock decrement, all or nothing. The item row is the
-- hot one under a flash sale, so it is touched last and held only from its
-- UPDATE to the commit. src/modules/inventory/inventory.service.ts (purchase)
-- is the only caller and documents the rules. A refusal is an outcome, not an
-- error: the function removes the order it inserted and returns, so the
-- transaction commits having changed nothing (a failed statement would cost the
-- client its pooled connection; under a flash sale most purchases are refused).
CREATE FUNCTION "inventory_purchase"(
  p_order_id TEXT,
  p_buyer_id TEXT,
  p_item_id TEXT,
  p_account_id TEXT,
  p_quantity INTEGER,
  p_idempotency_key TEXT,
  p_request_hash TEXT,
  OUT "outcome" TEXT,
  OUT "stock" INTEGER
)
LANGUAGE plpgsql AS $$
DECLARE
  item RECORD;
  units BIGINT;
BEGIN
  SELECT "price", "limit_per_user" INTO item FROM "inventory_items" WHERE "id" = p_item_id;
  IF NOT FOUND THEN
    "outcome" := 'no-such-item';
    RETURN;
  END IF;

  -- 1. The order: its unique (buyer_id, idempotency_key) claims the key. A
  --    concurrent request with the same key waits here for this transaction;
  --    if that one kept its order, this one inserts nothing ('duplicate': the
  --    caller returns the other's order).
  INSERT INTO "orders" ("id", "buyer_id", "item_id", "account_id", "quantity", "total", "status",
    "idempotency_key", "request_hash", "updated_at")
  VALUES (p_order_id, p_buyer_id, p_item_id, p_account_id, p_quantity, item."price" * p_quantity, 'RESERVED',
    p_idempotency_key, p_request_hash, now())
  ON CONFLICT ("buyer_id", "idempotency_key") DO NOTHING;
  IF NOT FOUND THEN
    "outcome" := 'duplicate';
    RETURN;
  END IF;

  -- 2. The limit. One buyer's purchases of one item queue on a transaction-scoped
  --    lock of that (buyer, item) pair; other buyers never wait on it. Under it,
  --    this statement's fresh snapshot (READ COMMITTED, a VOLATILE function) sees
  --    every order committed before the lock was granted, plus this one.
  IF item."limit_per_user" IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(hashtext(p_buyer_id), hashtext(p_item_id));
    SELECT COALESCE(SUM(o."quantity"), 0) INTO units FROM "orders" o
      WHERE o."buyer_id" = p_buyer_id AND o."item_id" = p_item_id AND o."status" <> 'CANCELLED';
    IF units > item."limit_per_user" THEN
      DELETE FROM "orders" WHERE "id" = p_order_id;
      "outcome" := 'limit-exceeded';
      RETURN;
    END IF;
  END IF;

  -- 3. The stock: one conditional UPDATE, atomic on the row.
  UPDATE "inventory_items" AS i SET "stock" = i."stock" - p_quantity, "updated_at" = now()
    WHERE i."id" = p_item_id AND i."stock" >= p_quantity
    RETURNING i."stock" INTO "stock";
  IF NOT FOUND THEN
    DELETE FROM "orders" WHERE "id" = p_order_id;
    "outcome" := 'sold-out';
    RETURN;
  END IF;
  "outcome" := 'reserved';
END;
$$;
