export {
  createEvmRail,
  evmRailFromConfig,
  isValidEvmAddress,
  purchaseKey,
  type EvmContracts,
  type EvmContractsInput,
  type EvmLogger,
  type EvmRailDeps,
} from './rail';
export { defaultDeploymentsFile, readEvmDeployment, type EvmDeployment } from './deployments';
export { NonceAllocator } from './nonce';
export { connectProvider, fetchChainId, LOCAL_CHAIN_ID } from './provider';
