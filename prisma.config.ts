// Used by the Prisma CLI (generate, and migrate deploy where the native engine can be downloaded).
import { defineConfig } from 'prisma/config';
import { loadConfig } from './src/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: loadConfig().databaseUrl },
});
