# mcp-oauth-proxy container image.
# Build:  docker build -t mcp-oauth-proxy .
# Run:    docker run -p 3000:8080 -e DATABASE_URL=... -e ENCRYPTION_KEY=... -e PUBLIC_URL=http://localhost:3000 mcp-oauth-proxy

# ---- build: compile TypeScript to dist/ (the same `npm ci` + `npm run build` CI runs) ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies and the compiled server only ----
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app

# bcrypt ships prebuilt binaries for linux-x64/arm64, so no compiler is needed here.
# (npm 10 in this image ignores package.json "allowScripts" and simply runs install scripts.)
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

COPY --from=build /app/dist ./dist
# SQL migrations are read at runtime (resolved as <app>/migrations from dist/db/).
# Provider presets are JSON imports, which tsc already copied into dist/; the web page's
# stylesheet and script (src/web/static) are copied into dist/web/static by `npm run build`.
COPY migrations ./migrations

# The embedded-PostgreSQL fallback (no DATABASE_URL) keeps its files in DATA_DIR; give it a
# directory the unprivileged user can write. In production, set DATABASE_URL instead.
ENV DATA_DIR=/data
RUN mkdir -p /data && chown node:node /data

USER node
ENV PORT=8080
EXPOSE 8080

# No curl in the slim image: probe liveness with Node's built-in fetch.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

CMD ["node", "dist/main.js"]
