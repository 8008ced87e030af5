/** The auditor: `runAudit(deps)` for the CLI, the chaos run and tests; the checks for the reconciliation. */
export { runAudit, formatAuditReport, type AuditDeps } from './run';
export * from './checks';
export * from './types';
export { createAuditBooksReader, readAuditSnapshot } from '../db/audit';
export { createSolanaAuditReader, type SolanaAuditReaderDeps } from '../chains/solana/audit-reader';
export { createEvmAuditReader, type EvmAuditReaderDeps } from '../chains/evm/audit-reader';
