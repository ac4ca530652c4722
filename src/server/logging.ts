import { pino, type Logger } from 'pino';

/** pino levels as Cloud Logging's severities. */
const SEVERITY: Record<string, string> = { trace: 'DEBUG', debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR', fatal: 'CRITICAL' };

/**
 * JSON lines Cloud Logging parses as structured entries: `severity`, `message` and `time`
 * (RFC 3339) are its special fields; everything else (jobId, reqId) lands in jsonPayload.
 */
export function cloudLogger(destination: NodeJS.WritableStream = process.stdout): Logger {
  return pino(
    {
      level: 'info',
      // Fastify logs each request through these (the logger's own win over Fastify's): the URL
      // with its query values redacted (a token a client put there must not reach the logs),
      // and never a header, so never Authorization.
      serializers: {
        req: (req: { method?: string; url?: string; ip?: string }) => ({ method: req.method, url: redactQuery(req.url ?? ''), remoteAddress: req.ip }),
      },
      redact: { paths: ['req.headers.authorization', 'headers.authorization', 'authorization'], censor: '[redacted]' },
      messageKey: 'message',
      base: undefined,
      timestamp: () => `,"time":"${new Date().toISOString()}"`,
      formatters: { level: (label: string) => ({ severity: SEVERITY[label] ?? 'DEFAULT' }) },
    },
    destination,
  );
}

/** `/jobs?token=abc&wait=true` -> `/jobs?token=[redacted]&wait=[redacted]`: the names stay, for debugging. */
export function redactQuery(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const names = url
    .slice(q + 1)
    .split('&')
    .filter((p) => p !== '')
    .map((p) => (p.includes('=') ? `${p.split('=')[0]}=[redacted]` : '[redacted]'));
  return `${url.slice(0, q)}?${names.join('&')}`;
}
