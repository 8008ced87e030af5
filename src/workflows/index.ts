export { purchaseWorkflow, clawbackWorkflow } from './purchase';
