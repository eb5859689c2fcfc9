# podtrust server image: compiled dist/ and production dependencies only, running as a non-root user.
#   docker build -t podtrust:0.1.0 .
#   docker run --rm -p 7443:7443 -e PODTRUST_STORE=postgres://… podtrust:0.1.0 up --host 0.0.0.0
# test/unit/deploy/dockerfile.test.ts checks these steps against package.json.
ARG NODE_VERSION=20

# 1. Build: every dependency (TypeScript), then `npm run build` compiles src/ to dist/.
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are here; native modules are not needed to compile.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/build.mjs
COPY src ./src
RUN npm run build

# 2. Runtime dependencies: `npm ci --omit=dev`, then better-sqlite3's native binding (its install script).
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm rebuild better-sqlite3

# 3. The image: node, the production node_modules, dist/. No compiler, no sources, no npm cache.
FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production \
    PODTRUST_HOME=/var/lib/podtrust
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
RUN mkdir -p /var/lib/podtrust && chown 65532:65532 /var/lib/podtrust
USER 65532:65532
EXPOSE 7070 7443
ENTRYPOINT ["node", "/app/dist/cli/bin.js"]
CMD ["up", "--host", "0.0.0.0"]
