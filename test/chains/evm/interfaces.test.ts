/** The production rail's hand-written ABIs (src/chains/evm/interfaces.ts) match the compiled contracts. */
import { Interface, type Fragment } from 'ethers';
import { settlementSplitterAbi, testUsdcAbi } from '../../../generated/evm/abi';
import { erc20InterfaceAbi, settlementSplitterInterfaceAbi } from '../../../src/chains/evm/interfaces';

const signatures = (fragments: readonly Fragment[]) => fragments.map((f) => f.format('minimal'));

it.each([
  ['SettlementSplitter', settlementSplitterInterfaceAbi, settlementSplitterAbi],
  ['ERC-20 (TestUSDC is OpenZeppelin ERC20)', erc20InterfaceAbi, testUsdcAbi],
] as const)('every %s fragment the rail uses is in the compiled ABI, (types, mutability, outputs)', (_name, handWritten, compiled) => {
  const compiledSignatures = new Set(signatures(new Interface(compiled).fragments));
  const missing = signatures(new Interface(handWritten).fragments).filter((s) => !compiledSignatures.has(s));
  expect(missing).toEqual([]);
});
