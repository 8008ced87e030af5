export { purchaseWorkflow, clawbackWorkflow } from './purchase';
export { treasuryReconciliationWorkflow } from './reconciliation';
export { subscriptionTrialCheckWorkflow } from './subscription-trials';
export { engineHealthCheckWorkflow } from './health-check';
