# genesim: the CLI as the entry point. Cloud Run jobs run `genesim update ...`; `serve` runs
# the HTTP service (Cloud Run services, or anywhere with Docker).
#   docker build -t genesim . && docker run --rm -e DATABASE_URL=... genesim update --strategy parallel --from-db

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY . .
# `prepare` compiles the TypeScript during npm ci; then only the runtime dependencies stay.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    GENESIM_TMP_DIR=/tmp
WORKDIR /app
# Owned by root and not writable by the user the process runs as, like App Engine's read-only
# filesystem: results and temp files go to GENESIM_TMP_DIR.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Read at run time: SQL migrations and the status page's static files live under src/.
COPY --from=build /app/src ./src
COPY --from=build /app/examples ./examples
USER node
EXPOSE 8080
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["serve"]
