/**
 * The settlement program's dev deployment: `npm run build:program`'s SBPF v3 build of
 * programs/settlement written into the local chain with Surfpool's `surfnet_writeProgram` cheatcode
 * (tens of milliseconds; the upgradeable loader's transactions take 7-14 s for the same bytes), under
 * the id its `declare_id!` names (Anchor refuses to run under any other), which is also the dev
 * default of SETTLEMENT_PROGRAM_ID. Surfpool has no flag to load a program at start, so the stack
 * deploys once the node is up, and again after a restart of an in-memory chain.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { PublicKey } from '@solana/web3.js';
import { DEV_SETTLEMENT_PROGRAM_ID } from '../../src/config';
import { rpcCall } from './index';

export interface DeployedProgram {
  programId: PublicKey;
  bytes: number;
  sha256: string;
}

/** Chunks well under the RPC's 5 MB body limit (hex doubles the size). */
const CHUNK_BYTES = 512 * 1024;

export async function deploySettlementProgram(rpcUrl: string, soPath: string): Promise<DeployedProgram> {
  if (!fs.existsSync(soPath)) throw new Error(`${soPath} is missing: run \`npm run build:program\` (setup builds it)`);
  const so = fs.readFileSync(soPath);
  const programId = new PublicKey(DEV_SETTLEMENT_PROGRAM_ID);
  for (let offset = 0; offset < so.length; offset += CHUNK_BYTES) {
    const chunk = so.subarray(offset, offset + CHUNK_BYTES);
    await rpcCall(rpcUrl, 'surfnet_writeProgram', [programId.toBase58(), chunk.toString('hex'), offset]);
  }
  return { programId, bytes: so.length, sha256: createHash('sha256').update(so).digest('hex') };
}
