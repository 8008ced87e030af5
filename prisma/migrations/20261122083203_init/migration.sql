-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "Product" (
    "id" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "priceCents" BIGINT NOT NULL,
    "currency" TEXT NOT NULL DEFAULT 'usd',
    "rail" TEXT NOT NULL,
    "nftSymbol" TEXT NOT NULL DEFAULT 'RCPT',
    "nftUri" TEXT NOT NULL DEFAULT '',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Product_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Collaborator" (
    "id" TEXT NOT NULL,
    "productId" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "wallet" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "shareBps" INTEGER NOT NULL,

    CONSTRAINT "Collaborator_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Purchase" (
    "id" TEXT NOT NULL,
    "productId" TEXT NOT NULL,
    "buyerWallet" TEXT NOT NULL,
    "rail" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "checkoutSessionId" TEXT,
    "paymentIntentId" TEXT,
    "chargeId" TEXT,
    "grossCents" BIGINT,
    "stripeFeeCents" BIGINT,
    "netCents" BIGINT,
    "platformFeeCents" BIGINT,
    "creatorPoolMicroUsdc" BIGINT,
    "settlementTxId" TEXT,
    "nftId" TEXT,
    "failureType" TEXT,
    "failureMessage" TEXT,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Purchase_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WebhookEvent" (
    "id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "livemode" BOOLEAN NOT NULL,
    "stripeCreatedAt" TIMESTAMP(3) NOT NULL,
    "payload" JSONB NOT NULL,
    "receivedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "processedAt" TIMESTAMP(3),
    "outcome" TEXT,

    CONSTRAINT "WebhookEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LedgerAccount" (
    "code" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "balanceMicro" BIGINT NOT NULL DEFAULT 0,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "LedgerAccount_pkey" PRIMARY KEY ("code")
);

-- CreateTable
CREATE TABLE "JournalTransaction" (
    "id" TEXT NOT NULL,
    "idempotencyKey" TEXT NOT NULL,
    "purchaseId" TEXT,
    "kind" TEXT NOT NULL,
    "memo" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "JournalTransaction_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "JournalEntry" (
    "id" BIGSERIAL NOT NULL,
    "transactionId" TEXT NOT NULL,
    "accountCode" TEXT NOT NULL,
    "amountMicro" BIGINT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "JournalEntry_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TreasuryHold" (
    "id" TEXT NOT NULL,
    "purchaseId" TEXT NOT NULL,
    "account" TEXT NOT NULL,
    "amountMicro" BIGINT NOT NULL,
    "status" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "TreasuryHold_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CollaboratorPayment" (
    "id" TEXT NOT NULL,
    "purchaseId" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "wallet" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "shareBps" INTEGER NOT NULL,
    "amountMicroUsdc" BIGINT NOT NULL,
    "rail" TEXT NOT NULL,
    "txId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "CollaboratorPayment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SettlementAttempt" (
    "txId" TEXT NOT NULL,
    "purchaseId" TEXT NOT NULL,
    "validUntil" BIGINT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SettlementAttempt_pkey" PRIMARY KEY ("txId")
);

-- CreateTable
CREATE TABLE "AuditLog" (
    "id" BIGSERIAL NOT NULL,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "reason" TEXT,
    "result" TEXT NOT NULL,
    "flagged" BOOLEAN NOT NULL DEFAULT false,
    "details" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AuditLog_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AlertOutbox" (
    "id" TEXT NOT NULL,
    "dedupeKey" TEXT NOT NULL,
    "severity" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deliveredAt" TIMESTAMP(3),

    CONSTRAINT "AlertOutbox_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TreasuryReconciliation" (
    "id" TEXT NOT NULL,
    "periodStart" TIMESTAMP(3) NOT NULL,
    "periodEnd" TIMESTAMP(3) NOT NULL,
    "purchaseCount" INTEGER NOT NULL,
    "frontedMicroUsdc" BIGINT NOT NULL,
    "platformFeesCents" BIGINT NOT NULL,
    "stripeFeesCents" BIGINT NOT NULL,
    "netToReplenishCents" BIGINT NOT NULL,
    "ledgerTreasuryMicroUsdc" BIGINT NOT NULL,
    "chainTreasuryMicroUsdc" BIGINT NOT NULL,
    "openHoldsMicroUsdc" BIGINT NOT NULL,
    "runwayDays" INTEGER,
    "health" TEXT NOT NULL,
    "staleHolds" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TreasuryReconciliation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ReconciliationDiscrepancy" (
    "id" TEXT NOT NULL,
    "reconciliationId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "reference" TEXT NOT NULL,
    "expected" TEXT NOT NULL,
    "actual" TEXT NOT NULL,

    CONSTRAINT "ReconciliationDiscrepancy_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Subscription" (
    "id" TEXT NOT NULL,
    "customerId" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "priceId" TEXT,
    "trialStart" TIMESTAMP(3),
    "trialEnd" TIMESTAMP(3),
    "currentPeriodEnd" TIMESTAMP(3),
    "hasPaymentMethod" BOOLEAN NOT NULL DEFAULT false,
    "cancelAtPeriodEnd" BOOLEAN NOT NULL DEFAULT false,
    "reminderSentAt" TIMESTAMP(3),
    "stripeUpdatedAt" TIMESTAMP(3) NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Subscription_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TrialUsage" (
    "customerId" TEXT NOT NULL,
    "subscriptionId" TEXT NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TrialUsage_pkey" PRIMARY KEY ("customerId")
);

-- CreateIndex
CREATE UNIQUE INDEX "Collaborator_productId_position_key" ON "Collaborator"("productId", "position");

-- CreateIndex
CREATE UNIQUE INDEX "Purchase_checkoutSessionId_key" ON "Purchase"("checkoutSessionId");

-- CreateIndex
CREATE UNIQUE INDEX "Purchase_paymentIntentId_key" ON "Purchase"("paymentIntentId");

-- CreateIndex
CREATE INDEX "Purchase_status_updatedAt_idx" ON "Purchase"("status", "updatedAt");

-- CreateIndex
CREATE INDEX "WebhookEvent_type_receivedAt_idx" ON "WebhookEvent"("type", "receivedAt");

-- CreateIndex
CREATE UNIQUE INDEX "JournalTransaction_idempotencyKey_key" ON "JournalTransaction"("idempotencyKey");

-- CreateIndex
CREATE INDEX "JournalTransaction_purchaseId_idx" ON "JournalTransaction"("purchaseId");

-- CreateIndex
CREATE INDEX "JournalTransaction_kind_createdAt_idx" ON "JournalTransaction"("kind", "createdAt");

-- CreateIndex
CREATE INDEX "JournalEntry_accountCode_createdAt_idx" ON "JournalEntry"("accountCode", "createdAt");

-- CreateIndex
CREATE INDEX "JournalEntry_transactionId_idx" ON "JournalEntry"("transactionId");

-- CreateIndex
CREATE UNIQUE INDEX "TreasuryHold_purchaseId_key" ON "TreasuryHold"("purchaseId");

-- CreateIndex
CREATE INDEX "TreasuryHold_account_status_idx" ON "TreasuryHold"("account", "status");

-- CreateIndex
CREATE INDEX "TreasuryHold_status_expiresAt_idx" ON "TreasuryHold"("status", "expiresAt");

-- CreateIndex
CREATE INDEX "CollaboratorPayment_wallet_idx" ON "CollaboratorPayment"("wallet");

-- CreateIndex
CREATE UNIQUE INDEX "CollaboratorPayment_purchaseId_position_key" ON "CollaboratorPayment"("purchaseId", "position");

-- CreateIndex
CREATE INDEX "SettlementAttempt_purchaseId_createdAt_idx" ON "SettlementAttempt"("purchaseId", "createdAt");

-- CreateIndex
CREATE INDEX "AuditLog_action_createdAt_idx" ON "AuditLog"("action", "createdAt");

-- CreateIndex
CREATE INDEX "AuditLog_target_idx" ON "AuditLog"("target");

-- CreateIndex
CREATE UNIQUE INDEX "AlertOutbox_dedupeKey_key" ON "AlertOutbox"("dedupeKey");

-- CreateIndex
CREATE INDEX "AlertOutbox_deliveredAt_createdAt_idx" ON "AlertOutbox"("deliveredAt", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "TreasuryReconciliation_periodStart_periodEnd_key" ON "TreasuryReconciliation"("periodStart", "periodEnd");

-- CreateIndex
CREATE UNIQUE INDEX "ReconciliationDiscrepancy_reconciliationId_kind_reference_key" ON "ReconciliationDiscrepancy"("reconciliationId", "kind", "reference");

-- CreateIndex
CREATE INDEX "Subscription_customerId_idx" ON "Subscription"("customerId");

-- CreateIndex
CREATE INDEX "Subscription_status_trialEnd_idx" ON "Subscription"("status", "trialEnd");

-- AddForeignKey
ALTER TABLE "Collaborator" ADD CONSTRAINT "Collaborator_productId_fkey" FOREIGN KEY ("productId") REFERENCES "Product"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Purchase" ADD CONSTRAINT "Purchase_productId_fkey" FOREIGN KEY ("productId") REFERENCES "Product"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "JournalEntry" ADD CONSTRAINT "JournalEntry_transactionId_fkey" FOREIGN KEY ("transactionId") REFERENCES "JournalTransaction"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "JournalEntry" ADD CONSTRAINT "JournalEntry_accountCode_fkey" FOREIGN KEY ("accountCode") REFERENCES "LedgerAccount"("code") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CollaboratorPayment" ADD CONSTRAINT "CollaboratorPayment_purchaseId_fkey" FOREIGN KEY ("purchaseId") REFERENCES "Purchase"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SettlementAttempt" ADD CONSTRAINT "SettlementAttempt_purchaseId_fkey" FOREIGN KEY ("purchaseId") REFERENCES "Purchase"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ReconciliationDiscrepancy" ADD CONSTRAINT "ReconciliationDiscrepancy_reconciliationId_fkey" FOREIGN KEY ("reconciliationId") REFERENCES "TreasuryReconciliation"("id") ON DELETE CASCADE ON UPDATE CASCADE;
