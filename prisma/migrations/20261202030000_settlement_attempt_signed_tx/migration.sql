-- AlterTable
ALTER TABLE "SettlementAttempt" ADD COLUMN     "signedTx" BYTEA;
