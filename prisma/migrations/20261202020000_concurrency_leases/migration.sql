-- Places of a limit on how many of something a key holds at once across every API process (subscriptions
-- of a user, anonymous connections of an address) when there is no Redis (src/infra/rate-limit-store.ts).
-- A place is a lease: the process that holds it renews it while the thing runs; one whose process died
-- expires and no longer counts.
CREATE TABLE "concurrency_leases" (
    "name" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "lease" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "concurrency_leases_pkey" PRIMARY KEY ("name", "key", "lease")
);

-- CreateIndex
CREATE INDEX "concurrency_leases_lease_idx" ON "concurrency_leases"("lease");

-- CreateIndex
CREATE INDEX "concurrency_leases_expires_at_idx" ON "concurrency_leases"("expires_at");

-- Takes a place of (p_name, p_key) when fewer than p_max live leases hold one: true, and the lease is written;
-- false, nothing written. The key's advisory lock makes the count and the insert one step for concurrent takes.
CREATE FUNCTION concurrency_take(p_name TEXT, p_key TEXT, p_lease TEXT, p_max INTEGER, p_ttl_ms INTEGER)
RETURNS BOOLEAN LANGUAGE plpgsql AS $$
DECLARE
  v_live INTEGER;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('concurrency:' || p_name || ':' || p_key));
  DELETE FROM concurrency_leases WHERE name = p_name AND key = p_key AND expires_at <= clock_timestamp();
  SELECT count(*) INTO v_live FROM concurrency_leases WHERE name = p_name AND key = p_key;
  IF v_live >= p_max THEN
    RETURN false;
  END IF;
  INSERT INTO concurrency_leases (name, key, lease, expires_at)
  VALUES (p_name, p_key, p_lease, clock_timestamp() + make_interval(secs => p_ttl_ms / 1000.0));
  RETURN true;
END;
$$;
