/**
 * What the production EVM rail and the auditor need to talk to the chain: the SettlementSplitter's
 * interface (contracts/interfaces/ISettlementSplitter.sol plus the OpenZeppelin errors it can revert
 * with) and a minimal ERC-20. Written by hand so that product code never loads generated/evm/abi.ts,
 * which carries creation bytecode for the deploy script and the test token; test/chains/evm/interfaces.test.ts
 * checks every fragment against the compiled ABIs.
 */
export const settlementSplitterInterfaceAbi = [
  'function settle(bytes32 purchaseId, address buyer, string tokenURI, address[] recipients, uint256[] amounts) returns (uint256 tokenId)',
  'function settled(bytes32 purchaseId) view returns (bool)',
  'function tokenIdOf(bytes32 purchaseId) view returns (uint256 tokenId)',
  'function settlementOf(bytes32 purchaseId) view returns (uint256 tokenId, uint256 blockNumber)',
  'function usdc() view returns (address)',
  'function treasury() view returns (address)',
  'event PurchaseSettled(bytes32 indexed purchaseId, address indexed buyer, uint256 tokenId, uint256 total)',
  'event TreasuryChanged(address indexed previousTreasury, address indexed newTreasury)',
  // ERC-721: the auditor reads who holds a settlement's NFT
  'function ownerOf(uint256 tokenId) view returns (address)',
  'error Settlement__AlreadySettled(bytes32 purchaseId)',
  'error Settlement__NoRecipients(bytes32 purchaseId)',
  'error Settlement__LengthMismatch(uint256 recipients, uint256 amounts)',
  'error Settlement__InvalidBuyer(address buyer)',
  'error Settlement__InvalidRecipient(uint256 index, address recipient)',
  'error Settlement__InvalidTreasury(address treasury)',
  // OpenZeppelin: AccessControl, Pausable, SafeERC20, ERC-721
  'error AccessControlUnauthorizedAccount(address account, bytes32 neededRole)',
  'error EnforcedPause()',
  'error SafeERC20FailedOperation(address token)',
  'error ERC721InvalidReceiver(address receiver)',
  'error ERC721NonexistentToken(uint256 tokenId)',
] as const;

/** The ERC-20 reads the rail makes, and the ERC-6093 errors a transfer from the treasury bubbles up. */
export const erc20InterfaceAbi = [
  'function balanceOf(address account) view returns (uint256)',
  'function allowance(address owner, address spender) view returns (uint256)',
  'error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)',
  'error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)',
  'error ERC20InvalidSender(address sender)',
  'error ERC20InvalidReceiver(address receiver)',
] as const;
