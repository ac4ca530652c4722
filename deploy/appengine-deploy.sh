#!/usr/bin/env bash
# Deploys the genesim App Engine service and its cron with the secrets read from Secret Manager
# at deploy time (App Engine standard has no Secret Manager binding for variables).
#
#   GOOGLE_CLOUD_PROJECT=my-lab REGION=europe-west1 CLOUDSQL_INSTANCE=labdb deploy/appengine-deploy.sh
#
# Secrets (names overridable): genesim-token -> GENESIM_TOKEN, genesim-db-password -> PGPASSWORD.
# The filled-in copy of app.yaml lives only for the deploy and is never committed or uploaded.
# Anyone allowed to view the App Engine version's settings can read its variables: grant
# roles/appengine.appViewer with that in mind, and rotate by adding a secret version and redeploying.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${GOOGLE_CLOUD_PROJECT:?set GOOGLE_CLOUD_PROJECT to the project id}"
: "${REGION:?set REGION to the Cloud SQL instance region}"
: "${CLOUDSQL_INSTANCE:?set CLOUDSQL_INSTANCE to the Cloud SQL instance name}"

secret() {
  gcloud secrets versions access latest --secret="$1" --project="$GOOGLE_CLOUD_PROJECT"
}
GENESIM_TOKEN="$(secret "${GENESIM_TOKEN_SECRET:-genesim-token}")"
PGPASSWORD="$(secret "${GENESIM_DB_PASSWORD_SECRET:-genesim-db-password}")"
export GOOGLE_CLOUD_PROJECT REGION CLOUDSQL_INSTANCE GENESIM_TOKEN PGPASSWORD

# Beside app.yaml, because gcloud deploys the directory its service file is in.
rendered=app.rendered.yaml
trap 'rm -f "$rendered"' EXIT
(umask 077 && node deploy/render.mjs app.yaml > "$rendered")

gcloud app deploy "$rendered" cron.yaml --project="$GOOGLE_CLOUD_PROJECT" --quiet
