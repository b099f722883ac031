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

-- A purchase in a single round trip and a single transaction: every check, the
-- per-buyer limit, the stock decrement and the order row, all or nothing.
-- src/modules/inventory/inventory.service.ts (purchase) is the only caller and
-- documents the rules. A refusal is an outcome, not an error, and writes
-- nothing: under a flash sale most purchases are refused, and a failed
-- statement would cost the client its pooled connection. The item row is the
-- hot one, so it is written last but one and held from its UPDATE to the
-- commit only, with no client round trip in between.
CREATE FUNCTION "inventory_purchase"(
  p_order_id TEXT,
  p_buyer_id TEXT,
  p_item_id TEXT,
  p_account_id TEXT,
  p_quantity INTEGER,
  p_idempotency_key TEXT,
  p_request_hash TEXT,
  OUT "r_outcome" TEXT,
  OUT "r_order_id" TEXT,
  OUT "r_request_hash" TEXT,
  OUT "r_total" BIGINT,
  OUT "r_created_at" TIMESTAMPTZ(3),
  OUT "r_item_currency" TEXT,
  OUT "r_account_currency" TEXT,
  OUT "r_limit_per_user" INTEGER
)
LANGUAGE plpgsql AS $$
DECLARE
  item RECORD;
  account RECORD;
  units BIGINT;
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

  -- 4. The stock: one conditional UPDATE, atomic on the row.
  UPDATE "inventory_items" AS i SET "stock" = i."stock" - p_quantity, "updated_at" = now()
    WHERE i."id" = p_item_id AND i."stock" >= p_quantity;
  IF NOT FOUND THEN
    "r_outcome" := 'sold-out';
    RETURN;
  END IF;

  -- 5. The order.
  INSERT INTO "orders" ("id", "buyer_id", "item_id", "account_id", "quantity", "total", "status",
    "idempotency_key", "request_hash", "updated_at")
  VALUES (p_order_id, p_buyer_id, p_item_id, p_account_id, p_quantity, item."price" * p_quantity, 'RESERVED',
    p_idempotency_key, p_request_hash, now())
  RETURNING "orders"."created_at", "orders"."total" INTO "r_created_at", "r_total";
  "r_order_id" := p_order_id;
  "r_request_hash" := p_request_hash;
  "r_outcome" := 'reserved';
END;
$$;
