-- Backtests and the per-user daily quota that admits them (docs/invariants.md, "Backtest quota").
-- A unit is taken by one conditional upsert of the user's row for the UTC day in quota_usage —
-- inserted by the day's first take, incremented while below the limit — in the same transaction
-- that writes the PENDING backtest; a backtest FAILED by the server gives its unit back once,
-- in the transaction that moves it to FAILED.

-- CreateEnum
CREATE TYPE "BacktestStatus" AS ENUM ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED');

-- CreateTable
CREATE TABLE "backtests" (
    "id" TEXT NOT NULL,
    "strategy_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "status" "BacktestStatus" NOT NULL DEFAULT 'PENDING',
    "from_time" TIMESTAMPTZ(3) NOT NULL,
    "to_time" TIMESTAMPTZ(3) NOT NULL,
    "asset" TEXT NOT NULL,
    "fast_window" INTEGER NOT NULL,
    "slow_window" INTEGER NOT NULL,
    "quota_day" DATE NOT NULL,
    "trades" INTEGER,
    "return_pct" DOUBLE PRECISION,
    "max_drawdown_pct" DOUBLE PRECISION,
    "final_equity" DOUBLE PRECISION,
    "failure_reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "backtests_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "backtests_range_check" CHECK ("from_time" < "to_time"),
    CONSTRAINT "backtests_windows_check" CHECK (2 <= "fast_window" AND "fast_window" < "slow_window" AND "slow_window" <= 500),
    -- A COMPLETED backtest has its whole result; no other has any of it.
    CONSTRAINT "backtests_result_check" CHECK (
      ("status" = 'COMPLETED') = ("trades" IS NOT NULL AND "return_pct" IS NOT NULL AND "max_drawdown_pct" IS NOT NULL AND "final_equity" IS NOT NULL)
      AND ("status" = 'COMPLETED' OR ("trades" IS NULL AND "return_pct" IS NULL AND "max_drawdown_pct" IS NULL AND "final_equity" IS NULL))
    )
);

-- CreateTable
CREATE TABLE "quota_usage" (
    "user_id" TEXT NOT NULL,
    "quota" TEXT NOT NULL,
    "day" DATE NOT NULL,
    "used" INTEGER NOT NULL,

    CONSTRAINT "quota_usage_pkey" PRIMARY KEY ("user_id", "quota", "day"),
    CONSTRAINT "quota_usage_used_check" CHECK ("used" >= 0)
);

-- CreateIndex
CREATE INDEX "backtests_strategy_id_created_at_id_idx" ON "backtests"("strategy_id", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "backtests_status_created_at_idx" ON "backtests"("status", "created_at");

-- CreateIndex
CREATE INDEX "backtests_user_id_idx" ON "backtests"("user_id");

-- AddForeignKey
ALTER TABLE "backtests" ADD CONSTRAINT "backtests_strategy_id_fkey" FOREIGN KEY ("strategy_id") REFERENCES "strategies"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "backtests" ADD CONSTRAINT "backtests_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "quota_usage" ADD CONSTRAINT "quota_usage_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
