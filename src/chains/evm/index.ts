export { createEvmRail, evmRailFromConfig, isValidEvmAddress, purchaseKey, type EvmContracts, type EvmContractsInput, type EvmLogger, type EvmRailDeps } from './rail';
export { deployEvmContracts, defaultDeploymentsFile, readEvmDeployment, type DeployEvmOptions, type EvmDeployment } from './deploy';
export { NonceAllocator } from './nonce';
export { connectProvider, fetchChainId, LOCAL_CHAIN_ID } from './provider';
export { settlementSplitterAbi, testUsdcAbi } from './abi';
