import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { projectRoot } from '../src/paths.js';
import { createTestDatabase, runCli, simChecksum, type TestDatabase } from './helpers.js';

// The deployment files are checked without Google: they parse, name what exists, agree with
// each other, and the commands they run are commands this build accepts.

const read = (file: string): string => readFileSync(path.join(projectRoot, file), 'utf8');
const yamlOf = (file: string): any => parse(read(file));
const RENDER = path.join(projectRoot, 'deploy', 'render.mjs');
const PLACES = { GOOGLE_CLOUD_PROJECT: 'lab-proj', REGION: 'europe-west1', CLOUDSQL_INSTANCE: 'labdb' };

/** The paths under `root` an ignore file of gitignore's simple forms (names, dir/, a/b/, *.ext) leaves in. */
function kept(root: string, ignoreFile: string): string[] {
  const patterns = read(ignoreFile).split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.replace(/\/$/, ''));
  const glob = (p: string) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
  const ignored = (rel: string) =>
    patterns.some((p) => (p.includes('/') ? glob(p).test(rel) || rel.startsWith(`${p}/`) : rel.split('/').some((segment) => glob(p).test(segment))));
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (ignored(child)) continue;
      if (entry.isDirectory()) walk(child);
      else out.push(child);
    }
  };
  walk('');
  return out;
}

function render(file: string, env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [RENDER, file], { cwd: projectRoot, env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
}

describe('deployment files', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'genesim-deploy-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('app.yaml: service genesim on nodejs22, B8, one basic-scaling instance, Cloud SQL socket, secrets left empty', () => {
    const app = yamlOf('app.yaml');
    assert.equal(app.service, 'genesim');
    assert.equal(app.runtime, 'nodejs22');
    assert.equal(app.instance_class, 'B8');
    assert.equal(app.basic_scaling.max_instances, 1);
    assert.equal(app.env_variables.PGHOST, '/cloudsql/PROJECT:REGION:INSTANCE');
    assert.equal(app.beta_settings.cloud_sql_instances, 'PROJECT:REGION:INSTANCE');
    assert.equal(app.env_variables.GENESIM_TMP_DIR, '/tmp');
    assert.equal(app.env_variables.GENESIM_TOKEN, '', 'no token in the committed file');
    assert.equal(app.env_variables.PGPASSWORD, '', 'no password in the committed file');
  });

  it("app.yaml's entrypoint is a file of this build and a command its CLI knows", () => {
    const [program, script, command, ...rest] = yamlOf('app.yaml').entrypoint.split(/\s+/);
    assert.equal(program, 'node');
    assert.equal(rest.length, 0);
    assert.ok(existsSync(path.join(projectRoot, script)), `${script} exists`);
    const help = spawnSync(process.execPath, [path.join(projectRoot, script), command, '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, new RegExp(`genesim ${command}`));
  });

  it('cron.yaml: a nightly GET of /cron/update on the genesim service', () => {
    const { cron } = yamlOf('cron.yaml');
    assert.equal(cron.length, 1);
    assert.equal(cron[0].url, '/cron/update');
    assert.equal(cron[0].target, yamlOf('app.yaml').service);
    assert.match(cron[0].schedule, /^every day \d\d:\d\d$/);
  });

  it('Dockerfile: Node 22, npm ci, the CLI as entry point, a user other than root', () => {
    const docker = read('Dockerfile');
    const froms = [...docker.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]!);
    assert.ok(froms.length > 0 && froms.every((f) => /^node:22[-.]/.test(f)), froms.join(', '));
    assert.match(docker, /^RUN npm ci\b/m);
    const entry = JSON.parse(/^ENTRYPOINT\s+(\[.*\])$/m.exec(docker)![1]!) as string[];
    assert.deepEqual(entry.slice(0, 1), ['node']);
    assert.ok(existsSync(path.join(projectRoot, entry[1]!)), `${entry[1]} exists`);
    const user = /^USER\s+(\S+)/m.exec(docker)?.[1];
    assert.ok(user && user !== 'root' && user !== '0', `USER ${user}`);
  });

  it('ignore files keep dependencies, build output, local data and rendered secrets out of uploads', () => {
    for (const file of ['.gcloudignore', '.dockerignore']) {
      const lines = read(file).split('\n').map((l) => l.trim().replace(/\/$/, ''));
      for (const entry of ['node_modules', 'dist', '.genesim', '.env', 'app.rendered.yaml']) assert.ok(lines.includes(entry), `${file} lists ${entry}`);
    }
    assert.ok(read('.gitignore').split('\n').includes('app.rendered.yaml'));
  });

  it('what gcloud uploads builds, as App Engine builds it, into the entrypoint', function () {
    this.timeout(300_000);
    const upload = path.join(dir, 'upload');
    const files = kept(projectRoot, '.gcloudignore');
    assert.ok(files.includes('package-lock.json') && files.includes('src/server/public/index.html') && files.includes('src/db/migrations/0001_datasets.sql'));
    assert.ok(!files.some((f) => /^(node_modules|dist|test|\.git)\//.test(f)), 'no dependencies, build output or tests');
    for (const f of files) cpSync(path.join(projectRoot, f), path.join(upload, f));
    // App Engine runs npm ci then `npm run build`; the dependencies are the same, so link them.
    symlinkSync(path.join(projectRoot, 'node_modules'), path.join(upload, 'node_modules'));
    const build = spawnSync(process.execPath, [path.join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: upload, encoding: 'utf8' });
    assert.equal(build.status, 0, build.stdout + build.stderr);
    const [, script, command] = yamlOf('app.yaml').entrypoint.split(/\s+/);
    const help = spawnSync(process.execPath, [path.join(upload, script), command, '--help'], { cwd: upload, encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
  });

  it('render.mjs fills the placeholders and the empty secrets, and refuses when one is missing', () => {
    const ok = render('app.yaml', { ...PLACES, GENESIM_TOKEN: 't0k"en', PGPASSWORD: 'pw' });
    assert.equal(ok.status, 0, ok.stderr);
    const app = parse(ok.stdout);
    assert.equal(app.env_variables.PGHOST, '/cloudsql/lab-proj:europe-west1:labdb');
    assert.equal(app.beta_settings.cloud_sql_instances, 'lab-proj:europe-west1:labdb');
    assert.equal(app.env_variables.GENESIM_TOKEN, 't0k"en');
    assert.equal(app.env_variables.PGPASSWORD, 'pw');
    assert.doesNotMatch(ok.stdout, /PROJECT:REGION|GENESIM_TOKEN: ""/);

    const missing = render('app.yaml', { ...PLACES, PGPASSWORD: 'pw' });
    assert.equal(missing.status, 2);
    assert.equal(missing.stdout, '');
    assert.match(missing.stderr, /^render: app\.yaml: set GENESIM_TOKEN in the environment\n$/);
  });

  it('appengine-deploy.sh reads the secrets, deploys a filled-in copy with cron.yaml, and removes the copy', () => {
    // A stand-in gcloud: answers the secret reads and records what `app deploy` was given.
    const bin = path.join(dir, 'bin');
    const log = path.join(dir, 'gcloud.log');
    const deployed = path.join(dir, 'deployed.yaml');
    spawnSync('mkdir', ['-p', bin]);
    writeFileSync(
      path.join(bin, 'gcloud'),
      `#!/bin/sh
echo "$*" >> ${JSON.stringify(log)}
case "$1 $2 $3" in
  "secrets versions access") case "$*" in *--secret=genesim-token*) printf 'tok-from-sm';; *) printf 'pw-from-sm';; esac ;;
  "app deploy "*) cp "$3" ${JSON.stringify(deployed)} ;;
esac
`,
    );
    chmodSync(path.join(bin, 'gcloud'), 0o755);
    const r = spawnSync('bash', [path.join(projectRoot, 'deploy', 'appengine-deploy.sh')], {
      env: { PATH: `${bin}:${process.env.PATH}`, ...PLACES },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    assert.equal(calls.length, 3, calls.join('\n'));
    assert.match(calls[2]!, /^app deploy app\.rendered\.yaml cron\.yaml --project=lab-proj --quiet$/);
    const app = parse(readFileSync(deployed, 'utf8'));
    assert.equal(app.env_variables.GENESIM_TOKEN, 'tok-from-sm');
    assert.equal(app.env_variables.PGPASSWORD, 'pw-from-sm');
    assert.equal(app.env_variables.PGHOST, '/cloudsql/lab-proj:europe-west1:labdb');
    assert.ok(!existsSync(path.join(projectRoot, 'app.rendered.yaml')), 'the filled-in copy is gone');
  });

  describe('Cloud Run job', () => {
    let t: TestDatabase;
    before(async () => {
      t = await createTestDatabase();
    });
    after(() => t.drop());

    it('deploy/cloudrun-job.yaml: the image runs an update from the database over the Cloud SQL socket', () => {
      const job = yamlOf('deploy/cloudrun-job.yaml');
      assert.equal(job.apiVersion, 'run.googleapis.com/v1');
      assert.equal(job.kind, 'Job');
      const instance = job.spec.template.metadata.annotations['run.googleapis.com/cloudsql-instances'];
      assert.equal(instance, 'PROJECT:REGION:INSTANCE');
      const [container] = job.spec.template.spec.template.spec.containers;
      assert.deepEqual(container.args, ['update', '--strategy', 'parallel', '--from-db']);
      const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
      assert.equal(env.PGHOST, `/cloudsql/${instance}`);
      assert.deepEqual(env.PGPASSWORD, { secretKeyRef: { name: 'genesim-db-password', key: 'latest' } });
      const rendered = parse(render('deploy/cloudrun-job.yaml', PLACES).stdout);
      assert.equal(rendered.spec.template.spec.template.spec.containers[0].image, 'europe-west1-docker.pkg.dev/lab-proj/genesim/genesim:latest');
    });

    it("the job's arguments run as they are against a database the application filled", async () => {
      const [container] = yamlOf('deploy/cloudrun-job.yaml').spec.template.spec.template.spec.containers;
      const created = runCli(['create', '--strategy', 'copyfrom', '--genes', '40', '--datasets', '6', '--results', path.join(dir, 'c.csv')], t.env);
      assert.equal(created.status, 0, created.stderr);
      const before = await simChecksum(t);
      const r = runCli([...container.args, '--threads', '2', '--results', path.join(dir, 'u.csv')], t.env);
      assert.equal(r.status, 0, r.stderr);
      // Recomputed from datasets_data, the matrix is what it was.
      assert.deepEqual(await simChecksum(t), before);
    });
  });
});
