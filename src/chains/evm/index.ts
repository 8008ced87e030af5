export { createEvmRail, evmRailFromConfig, purchaseKey } from './rail';
export type { EvmDeployment } from './deployments';
