# The API and the worker, from one image: docker build -t settlement-engine .
#   node dist/server.js (default) · node dist/worker.js · node dist/ops/cli.js · node scripts/migrate.mjs deploy "$DATABASE_URL"
# Migrations use Prisma's wasm engine (scripts/migrate.mjs), so no native engine download is needed.

# --- build: every dependency, generated/ (the Prisma client, the contracts' ABIs), tsc → dist/ and the
# workflow bundles. The dev harness (dev/), the tests and the bench are not in the build context
# (.dockerignore), and `--production` compiles src/ only.
FROM node:20.20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN PRISMA_SCHEMA_ENGINE_BINARY=/app/prisma/schema.prisma PRISMA_HIDE_UPDATE_MESSAGE=1 npx prisma generate \
 && npx tsx scripts/compile-contracts.ts \
 && npm run build -- --production

# --- runtime: production dependencies only, the compiled code, no sources, not root -------------
FROM node:20.20-bookworm-slim AS runtime
ENV NODE_ENV=production
# jemalloc for the API and the worker: it hands the native memory a burst freed back to the kernel
# within seconds, where glibc's malloc keeps most of it (README, Performance). The link gives the
# preload one path on either architecture. Two glibc arenas only matter if the preload is removed.
RUN apt-get update && apt-get install -y --no-install-recommends libjemalloc2 && rm -rf /var/lib/apt/lists/* \
 && ln -s "$(find /usr/lib -name libjemalloc.so.2 | head -n 1)" /usr/local/lib/libjemalloc.so.2
ENV LD_PRELOAD=/usr/local/lib/libjemalloc.so.2
ENV MALLOC_CONF=background_thread:true
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/generated ./generated
COPY prisma ./prisma
COPY idl ./idl
COPY scripts/migrate.mjs scripts/healthcheck.mjs ./scripts/
USER node
EXPOSE 3000
# The API's liveness; the worker's service overrides it with its metrics endpoint (docker-compose.yml).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 CMD ["node", "scripts/healthcheck.mjs", "http://127.0.0.1:3000/healthz"]
CMD ["node", "dist/server.js"]
