/** generated/evm/abi.ts (written by npm run setup) must be exactly what the Solidity sources compile to. */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const run = promisify(execFile);

async function compile(args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(TSX, ['scripts/compile-contracts.ts', ...args], { cwd: ROOT });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('compile-contracts --check', () => {
  it('passes for the generated abi.ts', async () => {
    const result = await compile(['--check']);
    expect(result.output).toContain('matches');
    expect(result.code).toBe(0);
  });

  it('fails when the ABI file drifts from the sources', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abi-drift-'));
    const tampered = path.join(dir, 'abi.ts');
    const generated = fs.readFileSync(path.join(ROOT, 'generated/evm/abi.ts'), 'utf8');
    fs.writeFileSync(tampered, generated.replace('"name": "settle"', '"name": "settleRenamed"'));
    try {
      const result = await compile(['--check', '--abi-file', tampered]);
      expect(result.code).toBe(1);
      expect(result.output).toContain('is stale');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
