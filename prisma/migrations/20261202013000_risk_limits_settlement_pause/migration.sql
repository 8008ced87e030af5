-- AlterTable
ALTER TABLE "TreasuryHold" ADD COLUMN     "reservedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN     "riskReason" TEXT;

-- CreateTable
CREATE TABLE "SettlementControl" (
    "id" TEXT NOT NULL,
    "paused" BOOLEAN NOT NULL DEFAULT false,
    "reason" TEXT,
    "actor" TEXT,
    "changedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SettlementControl_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Purchase_buyerWallet_idx" ON "Purchase"("buyerWallet");

-- CreateIndex
CREATE INDEX "TreasuryHold_account_reservedAt_idx" ON "TreasuryHold"("account", "reservedAt");

-- The pause switch's one row, so every run's gate has a row to lock.
INSERT INTO "SettlementControl" ("id", "paused") VALUES ('settlement', false) ON CONFLICT DO NOTHING;
