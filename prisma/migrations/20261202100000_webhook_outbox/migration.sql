-- AlterTable
ALTER TABLE "WebhookEvent" ADD COLUMN     "attempts" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "nextAttemptAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateIndex
CREATE INDEX "WebhookEvent_processedAt_nextAttemptAt_idx" ON "WebhookEvent"("processedAt", "nextAttemptAt");

-- CreateIndex
CREATE INDEX "WebhookEvent_outcome_type_idx" ON "WebhookEvent"("outcome", "type");
