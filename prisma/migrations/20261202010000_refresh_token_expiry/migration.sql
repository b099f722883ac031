-- The pruner of expired refresh tokens (src/modules/users/users.jobs.ts) finds them by expiry.

-- CreateIndex
CREATE INDEX "refresh_tokens_expires_at_idx" ON "refresh_tokens"("expires_at");
