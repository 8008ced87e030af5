/**
 * The settlement program's dev deployment: `npm run build:program`'s SBPF v3 build of
 * programs/settlement loaded into the local chain under the id its `declare_id!` names (Anchor
 * refuses to run under any other), which is also the dev default of SETTLEMENT_PROGRAM_ID.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { PublicKey } from '@solana/web3.js';
import { address } from '@solana/kit';
import { DEV_SETTLEMENT_PROGRAM_ID } from '../../src/config';
import type { SolanaChain } from './index';

export interface DeployedProgram {
  programId: PublicKey;
  bytes: number;
  sha256: string;
}

/** Deploys (or redeploys: the chain keeps no program across restarts) the `.so` at `soPath`. */
export function deploySettlementProgram(chain: Pick<SolanaChain, 'ledger'>, soPath: string): DeployedProgram {
  if (!fs.existsSync(soPath)) throw new Error(`${soPath} is missing: run \`npm run build:program\` (setup builds it)`);
  const so = fs.readFileSync(soPath);
  const programId = new PublicKey(DEV_SETTLEMENT_PROGRAM_ID);
  chain.ledger.svm.addProgram(address(programId.toBase58()), so);
  return { programId, bytes: so.length, sha256: createHash('sha256').update(so).digest('hex') };
}
