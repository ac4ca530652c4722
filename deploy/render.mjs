#!/usr/bin/env node
// Prints a deployment file with its placeholders filled in, for `gcloud app deploy` or
// `gcloud run jobs replace`, so that the committed files hold no project names and no secrets.
//
//   node deploy/render.mjs FILE > OUT
//
// - The words PROJECT, REGION and INSTANCE in values (not in comments) become $GOOGLE_CLOUD_PROJECT,
//   $REGION and $CLOUDSQL_INSTANCE.
// - In an App Engine file, every env_variables entry whose value is empty is taken from the
//   variable of the same name in this environment (deploy/appengine-deploy.sh reads them from
//   Secret Manager); a missing one is an error, so a service is never deployed without its secrets.
import { readFileSync } from 'node:fs';
import { isMap, isScalar, parseDocument, visit } from 'yaml';

const PLACEHOLDERS = { PROJECT: 'GOOGLE_CLOUD_PROJECT', REGION: 'REGION', INSTANCE: 'CLOUDSQL_INSTANCE' };

function fail(message) {
  process.stderr.write(`render: ${message}\n`);
  process.exit(2);
}

const file = process.argv[2];
if (!file || process.argv.length > 3) fail('usage: node deploy/render.mjs FILE');
let text;
try {
  text = readFileSync(file, 'utf8');
} catch (err) {
  fail(`${file}: ${err.message}`);
}
const doc = parseDocument(text);
if (doc.errors.length > 0) fail(`${file}: ${doc.errors[0].message}`);

const missing = new Set();
visit(doc, {
  Scalar(key, node) {
    if (key === 'key' || typeof node.value !== 'string') return;
    node.value = node.value.replace(/\b(PROJECT|REGION|INSTANCE)\b/g, (word) => {
      const value = process.env[PLACEHOLDERS[word]];
      if (!value) missing.add(PLACEHOLDERS[word]);
      return value ?? word;
    });
  },
});

const env = doc.get('env_variables', true);
if (isMap(env)) {
  for (const pair of env.items) {
    if (!isScalar(pair.value) || pair.value.value !== '') continue;
    const name = String(pair.key.value ?? pair.key);
    const value = process.env[name];
    if (!value) missing.add(name);
    else pair.value.value = value;
  }
}

if (missing.size > 0) fail(`${file}: set ${[...missing].join(', ')} in the environment`);
process.stdout.write(doc.toString());
