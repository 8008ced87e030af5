/** Workflow ids and idempotency keys come from business ids, never from run ids (docs/architecture.md §4). */
export const purchaseWorkflowId = (purchaseId: string): string => `purchase-${purchaseId}`;
export const purchaseIdFromWorkflowId = (workflowId: string): string | undefined =>
  workflowId.startsWith('purchase-') ? workflowId.slice('purchase-'.length) : undefined;

export type PurchaseStep = 'checkout' | 'refund' | 'hold' | 'settle' | 'record' | 'clawback' | 'void';
export const idempotencyKey = (purchaseId: string, step: PurchaseStep): string => `purchase:${purchaseId}:${step}`;

export const PURCHASE_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;
