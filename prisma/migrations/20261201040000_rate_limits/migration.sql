-- Rate-limit counters when there is no Redis (src/infra/rate-limit-store.ts): one row per key and
-- window, in the shape rate-limiter-flexible's PostgreSQL store reads and writes with one upsert;
-- `expire` is when the window ends, in ms since the epoch.
CREATE TABLE "rate_limits" (
    "key" VARCHAR(255) NOT NULL,
    "points" INTEGER NOT NULL DEFAULT 0,
    "expire" BIGINT,

    CONSTRAINT "rate_limits_pkey" PRIMARY KEY ("key")
);
