# syntax=docker/dockerfile:1
# Switchyard production image: `node dist/src/server.js --api` (README.md, "Running in production").
# The image expects DATABASE_URL and JWT_SECRET (embedded mode is for `npm start` on a workstation).
ARG NODE_IMAGE=node:20-bookworm-slim

# deps: every dependency; the postinstall runs `prisma generate` into src/generated,
# so the Prisma schema, its config and scripts/ must be in place before `npm ci`.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
COPY package.json package-lock.json prisma.config.ts ./
COPY scripts ./scripts
COPY prisma ./prisma
RUN npm ci

# build: TypeScript (including the generated Prisma client) -> dist/.
# .dockerignore keeps a local src/generated from replacing the one generated above.
FROM deps AS build
COPY . .
RUN npm run build

# runtime: production dependencies, the compiled code and the migrations only.
# --ignore-scripts: the client is already compiled into dist/, and npm still installs
# the prisma CLI here (a peer of @prisma/client), so the postinstall would try to generate.
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=4000 NPM_CONFIG_UPDATE_NOTIFIER=false
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
# What the npm start scripts set, for every node the image runs (compose's commands too):
# a fixed mmap threshold, so that glibc gives freed memory of 32 KiB and more (argon2's
# 19 MiB per hash, V8's compile zones) back to the OS instead of keeping it in per-thread
# arenas (bench/README.md, "Idle RSS: where it goes").
ENV MALLOC_MMAP_THRESHOLD_=32768
COPY --from=build /app/dist ./dist
# src/infra/migrate.ts looks for prisma/migrations beside dist/ when compiled.
COPY prisma/migrations ./prisma/migrations
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/server.js", "--api"]
