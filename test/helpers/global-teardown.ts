import fs from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const infra = globalThis.__testInfra;
  if (!infra) return;
  await infra.devStripe.close();
  infra.stripeMock.kill('SIGTERM');
  await infra.pg.stop();
  fs.rmSync(infra.dir, { recursive: true, force: true });
}
