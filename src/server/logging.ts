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
      messageKey: 'message',
      base: undefined,
      timestamp: () => `,"time":"${new Date().toISOString()}"`,
      formatters: { level: (label: string) => ({ severity: SEVERITY[label] ?? 'DEFAULT' }) },
    },
    destination,
  );
}
