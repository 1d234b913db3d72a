# syntax=docker/dockerfile:1
# Voxgate: `docker build -t voxgate .`, then `docker run -p 8080:8080 voxgate` (one process, SQLite in
# the /var/lib/voxgate volume) or several instances with deploy/compose.yaml (docs/deployment.md).

# Build: native addons (better-sqlite3; .prebuild-installrc compiles them from source), the TypeScript and the console.
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .prebuild-installrc ./
COPY tsconfig.json tsconfig.build.json vite.config.ts ./
COPY bin ./bin
COPY src ./src
# npm ci runs the prepare script, `npm run build`: dist/ (the server) and dist/ui (the console).
RUN --mount=type=cache,target=/root/.npm npm ci \
 && npm prune --omit=dev

# Run: Node, the production dependencies, the build; no compiler, no source, not root.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    VOXGATE_HOST=0.0.0.0 \
    VOXGATE_PORT=8080 \
    VOXGATE_DATA_DIR=/var/lib/voxgate
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/dist ./dist
# The image's own `node` user (uid 1000) owns only the data directory: SQLite, the secrets key file,
# the TTS cache and recordings (with PostgreSQL, only the last two).
RUN mkdir -p /var/lib/voxgate && chown node:node /var/lib/voxgate
USER node
VOLUME /var/lib/voxgate
# HTTP: carrier webhooks and media streams, the API, the console, /metrics. SIP (carriers.sip) adds
# 5060/udp and its RTP range; publish those when you use it.
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.VOXGATE_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM drains: /readyz goes 503 at once, live calls get server.drainTimeoutMs to finish.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "bin/voxgate.js"]
CMD ["serve"]
