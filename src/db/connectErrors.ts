import { describeTarget } from '../config.js';
import { ConnectionError, EXIT } from '../errors.js';
import type { ServerTarget } from './embedded.js';

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/** Node's network errors (an AggregateError when a name resolved to several addresses). */
function networkCode(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException & { errors?: NodeJS.ErrnoException[] };
  return e.code ?? e.errors?.[0]?.code;
}

/**
 * Turns the first connection's failure into one line and an exit code of its own, so a script
 * (or the person at the terminal) can tell a server that is down from a wrong password, a
 * missing database or a TLS disagreement. Anything else stays a plain failure (exit 1).
 */
export function connectionError(err: unknown, target: ServerTarget): Error {
  const where = describeTarget(target);
  const message = (err as Error).message ?? String(err);
  const code = networkCode(err);
  const fail = (why: string, exitCode: number) => new ConnectionError(`cannot connect to ${where}: ${why}`, exitCode, { cause: err });
  if (code === 'ECONNREFUSED') return fail('connection refused (is the server running, on that host and port?)', EXIT.serverUnreachable);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return fail(`host "${target.host}" not found`, EXIT.serverUnreachable);
  if (code === 'ENOENT') return fail(`no server socket in ${target.host} (is the server running?)`, EXIT.serverUnreachable);
  if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || /timeout/i.test(message)) {
    return fail(`no answer from the server (${code ?? 'timeout'})`, EXIT.serverUnreachable);
  }
  if (code === '28P01') return fail(message, EXIT.authentication);
  if (code === '28000') {
    // pg_hba.conf rejecting an unencrypted connection is the server requiring TLS.
    if (/no encryption/.test(message)) return fail(`${message}: the server requires TLS; set sslmode=require (DATABASE_URL) or PGSSLMODE=require`, EXIT.tls);
    return fail(message, EXIT.authentication);
  }
  if (code === '3D000') return fail(`${message} (create it, or name another in DATABASE_URL / PGDATABASE)`, EXIT.noDatabase);
  if (/does not support SSL/i.test(message)) return fail(`TLS was required (sslmode=${target.sslmode}) but the server does not offer it; use sslmode=disable if that is expected`, EXIT.tls);
  if ((code !== undefined && TLS_CODES.has(code)) || /certificate|SSL|TLS/.test(message)) return fail(`TLS: ${message}`, EXIT.tls);
  if (/password/i.test(message)) return fail(message, EXIT.authentication);
  return new Error(`cannot connect to ${where}: ${message}`, { cause: err });
}
