import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import type pg from 'pg';
import type { ServerConfig } from '../config.js';
import { MAX_GENERATED_GENES } from '../input/generate.js';
import type { JobRequest, JobRunner } from '../jobs/runner.js';
import { BadRequest, resolveSource } from '../jobs/sources.js';
import { getJob, recentJobs } from '../jobs/table.js';
import { projectRoot } from '../paths.js';
import { METRICS, type Metric } from '../similarity/kernel.js';
import { STRATEGIES } from '../strategies/types.js';
import { UPDATE_STRATEGIES } from '../update/run.js';
import { bearerMatches } from './auth.js';
import type { Logger } from 'pino';
import { matrixSummary } from './matrix.js';
import { MAX_TOP, NoMatrixError, similarGenes, UnknownGeneError } from '../similar/query.js';
import { UsageError } from '../errors.js';

/** The status page's static files (index.html, app.js, style.css), served as they are: no build step. */
export const PUBLIC_DIR = path.join(projectRoot, 'src', 'server', 'public');

const BODY_LIMIT = 64 * 1024;

export interface AppOptions {
  config: ServerConfig;
  pool: pg.Pool;
  runner: JobRunner;
  /** The machine's parallelism: a job's default --threads. */
  defaultThreads: number;
  log: Logger;
}

interface JobBody {
  action: 'create' | 'update';
  strategy?: string;
  metric?: Metric;
  threads?: number;
  source?: string;
  changedOnly?: boolean;
  genes?: number;
}

const jobBodySchema = {
  type: 'object',
  required: ['action'],
  additionalProperties: false,
  properties: {
    action: { enum: ['create', 'update'] },
    strategy: { type: 'string' },
    metric: { enum: [...METRICS] },
    threads: { type: 'integer', minimum: 1, maximum: 256 },
    source: { type: 'string', minLength: 1, maxLength: 8192 },
    changedOnly: { type: 'boolean' },
    genes: { type: 'integer', minimum: 1, maximum: MAX_GENERATED_GENES },
  },
  // The strategies differ by action (update adds upsert): the 400 then names the right list.
  if: { properties: { action: { const: 'create' } } },
  then: { properties: { strategy: { enum: [...STRATEGIES] } } },
  else: { properties: { strategy: { enum: [...UPDATE_STRATEGIES] } } },
} as const;

const geneParams = { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 50 } } } as const;
const similarQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { top: { type: 'string', pattern: '^[0-9]{1,4}$' }, metric: { enum: [...METRICS] } },
} as const;

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[0-9]{1,15}$' } } } as const;

/** One line a client can act on, from Ajv's first complaint. */
function validationMessage(err: FastifyError): string {
  const v = err.validation?.[0];
  if (!v) return err.message;
  const field = v.instancePath.replace(/^\//, '').replace(/\//g, '.') || (v.params as { missingProperty?: string }).missingProperty || err.validationContext || 'body';
  const params = v.params as { allowedValues?: unknown[]; additionalProperty?: string; missingProperty?: string };
  if (v.keyword === 'enum') return `${field} must be one of: ${params.allowedValues!.join(', ')}`;
  if (v.keyword === 'additionalProperties') return `unknown field ${params.additionalProperty} (allowed: ${Object.keys(jobBodySchema.properties).join(', ')})`;
  if (v.keyword === 'required') return `${params.missingProperty} is required`;
  return `${field} ${v.message}`;
}

/** Turns a request into what the runner starts, or throws BadRequest (400). */
function jobRequest(body: JobBody, o: AppOptions): JobRequest {
  const strategy = body.strategy ?? 'parallel';
  const metric = body.metric ?? 'cosine';
  const threads = body.threads ?? o.defaultThreads;
  const changedOnly = body.changedOnly ?? false;
  if (body.action === 'create' && changedOnly) throw new BadRequest('changedOnly applies to update only');
  if (body.genes !== undefined && body.source !== undefined) throw new BadRequest('give source or genes, not both');
  let source;
  if (body.genes !== undefined) source = { kind: 'synthetic' as const, genes: body.genes };
  else if (body.source === undefined && body.action === 'create') throw new BadRequest('create needs a source: a file name in the data directory or an https URL');
  else source = resolveSource(body.source ?? 'database', o.config);
  if (source.kind === 'database' && body.action === 'create') throw new BadRequest('create cannot read the database: give a file name or an https URL (update reads "database")');
  const shown = source.kind === 'url' ? `${source.url.origin}${source.url.pathname}` : (body.source ?? 'database');
  return {
    spec: { action: body.action, strategy, metric, threads, changedOnly },
    source,
    parameters: { strategy, metric, threads, changedOnly, ...(body.genes !== undefined ? { genes: body.genes } : { source: shown }) },
  };
}

export async function buildApp(o: AppOptions) {
  const app = Fastify({
    loggerInstance: o.log,
    bodyLimit: BODY_LIMIT,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    // Cloud Run and App Engine terminate TLS in front of the instance: trust their X-Forwarded-* headers.
    trustProxy: true,
  });

  // A JSON API client sends `Content-Type: application/json` on every POST, with no body for a
  // cancel: an empty body is no body, not a 400. Anything else goes to Fastify's own parser
  // (prototype-poisoning checks and its error for bad JSON).
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '' || (typeof body === 'string' && body.trim() === '')) return done(null, undefined);
    return json(req, body as string, done);
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) return reply.status(400).send({ error: validationMessage(err) });
    if (err instanceof BadRequest) return reply.status(400).send({ error: err.message });
    const status = err.statusCode ?? 500;
    if (status >= 500) req.log.error({ err }, err.message);
    return reply.status(status).send({ error: status === 413 ? `body over ${BODY_LIMIT / 1024} KB` : err.message });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}` }));

  const tokenOk = (req: FastifyRequest) => o.config.token === undefined || bearerMatches(req.headers.authorization, o.config.token);
  const refuse = (reply: FastifyReply) => reply.status(401).header('WWW-Authenticate', 'Bearer').send({ error: 'missing or wrong bearer token' });

  app.get('/healthz', async () => ({ ok: true }));

  // Every route in here needs the token.
  await app.register(async (api) => {
    api.addHook('onRequest', async (req, reply) => {
      if (!tokenOk(req)) return refuse(reply);
    });

    api.post<{ Body: JobBody; Querystring: { wait?: string } }>('/jobs', { schema: { body: jobBodySchema } }, async (req, reply) => {
      const submitted = await o.runner.submit(jobRequest(req.body, o), req.body.action);
      if ('conflict' in submitted) return reply.status(409).send(submitted.conflict);
      if (req.query.wait === 'true') return reply.status(200).send(await o.runner.wait(submitted.job.id));
      return reply.status(202).send({ id: submitted.job.id, state: submitted.job.state });
    });

    api.get('/jobs', async () => ({ jobs: await recentJobs(o.pool) }));

    api.get<{ Params: { id: string } }>('/jobs/:id', { schema: { params: idParams } }, async (req, reply) => {
      const job = await getJob(o.pool, Number(req.params.id));
      return job ?? reply.status(404).send({ error: `no job ${req.params.id}` });
    });

    api.post<{ Params: { id: string } }>('/jobs/:id/cancel', { schema: { params: idParams } }, async (req, reply) => {
      const id = Number(req.params.id);
      const job = await o.runner.cancel(id);
      if (job) return reply.status(202).send(job);
      const ended = await getJob(o.pool, id);
      if (!ended) return reply.status(404).send({ error: `no job ${id}` });
      return reply.status(409).send({ error: `job ${id} has already ended (${ended.state})`, runningJobId: null });
    });

    api.get('/matrix', async () => matrixSummary(o.pool));

    // The same answer as `genesim similar NAME --json`, from the same query.
    api.get<{ Params: { name: string }; Querystring: { top?: string; metric?: string } }>(
      '/genes/:name/similar',
      { schema: { params: geneParams, querystring: similarQuery } },
      async (req, reply) => {
        const top = req.query.top === undefined ? 10 : Number(req.query.top);
        if (!(top >= 1 && top <= MAX_TOP)) return reply.status(400).send({ error: `top must be a whole number from 1 to ${MAX_TOP}` });
        try {
          return await similarGenes(o.pool, req.params.name, { top, metric: req.query.metric });
        } catch (err) {
          if (err instanceof UnknownGeneError) return reply.status(404).send({ error: err.message, suggestions: err.suggestions });
          if (err instanceof NoMatrixError) return reply.status(404).send({ error: err.message, suggestions: [] });
          if (err instanceof UsageError) return reply.status(400).send({ error: err.message });
          throw err;
        }
      },
    );
  });

  // App Engine's cron: an update from the database, answered when it ends. App Engine strips
  // X-Appengine-Cron from outside requests, so the header is trusted there and only there.
  app.get('/cron/update', async (req, reply) => {
    const fromCron = o.config.onAppEngine && req.headers['x-appengine-cron'] === 'true';
    if (!fromCron && !tokenOk(req)) return refuse(reply);
    const submitted = await o.runner.submit(jobRequest({ action: 'update' }, o), 'update');
    if ('conflict' in submitted) return reply.status(409).send(submitted.conflict);
    return reply.status(200).send(await o.runner.wait(submitted.job.id));
  });

  if (existsSync(PUBLIC_DIR)) await app.register(fastifyStatic, { root: PUBLIC_DIR, prefix: '/' });
  else app.get('/', async (_req, reply) => reply.type('text/plain').send('genesim: the status page is not installed (src/server/public)\n'));

  return app;
}
