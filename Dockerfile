# genesim: the CLI as the entry point. Cloud Run jobs run `genesim update ...`; `serve` runs
# the HTTP service (Cloud Run services, or anywhere with Docker).
#   docker build -t genesim . && docker run --rm -e DATABASE_URL=... genesim update --strategy parallel --from-db

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY . .
# Every dependency, so that `prepare` can compile the TypeScript during npm ci.
RUN npm ci --no-audit --no-fund

FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    GENESIM_TMP_DIR=/tmp
WORKDIR /app
# Owned by root and not writable by the user the process runs as, like App Engine's read-only
# filesystem: results and temp files go to GENESIM_TMP_DIR.
COPY package.json package-lock.json ./
# Only what runs: no test or bench packages (dev), no embedded PostgreSQL (optional; the image
# always has DATABASE_URL or PG*). --ignore-scripts: `prepare` would compile, and dist/ comes built.
# test/production.test.ts runs this stage's commands outside Docker and a create with the result.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Read at run time: SQL migrations and the status page's static files live under src/.
COPY --from=build /app/src ./src
COPY --from=build /app/examples ./examples
USER node
EXPOSE 8080
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["serve"]
