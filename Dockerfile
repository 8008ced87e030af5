# The API and the worker, from one image: docker build -t settlement-engine .
# Migrations use Prisma's wasm engine (scripts/migrate.mjs), so no native engine download is needed.
FROM node:20.20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY . .
RUN PRISMA_SCHEMA_ENGINE_BINARY=/app/prisma/schema.prisma npx prisma generate
ENV NODE_ENV=production
USER node
EXPOSE 3000
CMD ["node", "--import", "tsx", "src/server.ts"]
