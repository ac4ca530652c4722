import assert from 'node:assert/strict';
import { describeFailure, InterruptedError, tagCommitted, tagPhase, UsageError } from '../src/errors.js';

/** The one classification of what stopped a run, and the line and exit code the CLI ends with. */
describe('describeFailure', () => {
  const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

  it('a terminated backend: one line naming the phase, exit 1', () => {
    const err = pgError('57P01', 'terminating connection due to administrator command');
    tagPhase(err, 'parallel_constraints');
    tagPhase(err, 'parallel_total');
    const d = describeFailure(err);
    assert.equal(d.message, 'the database connection was terminated during parallel_constraints (terminating connection due to administrator command); nothing was kept');
    assert.equal(d.exitCode, 1);
  });

  it('a socket closed under a COPY counts as a terminated connection', () => {
    assert.match(describeFailure(pgError('EPIPE', 'write EPIPE')).message, /^the database connection was terminated \(write EPIPE\)/);
    assert.match(describeFailure(new Error('Client has encountered a connection error and is not queryable')).message, /^the database connection was terminated/);
  });

  it('a statement cancelled without a signal (an administrator, statement_timeout) is a failure, not an interruption', () => {
    const d = describeFailure(pgError('57014', 'canceling statement due to user request'));
    assert.match(d.message, /^a statement was cancelled/);
    assert.equal(d.exitCode, 1);
  });

  it('after a signal whatever failed is the interruption, with the signal\'s exit code', () => {
    const d = describeFailure(pgError('57014', 'canceling statement due to user request'), new InterruptedError('SIGTERM'));
    assert.equal(d.message, 'interrupted: nothing was kept');
    assert.equal(d.exitCode, 143);
    assert.equal(describeFailure(new InterruptedError(), new InterruptedError('SIGINT')).exitCode, 130);
  });

  it('an autocommit run says how many rows it had committed', () => {
    const err = new InterruptedError();
    tagCommitted(err, 12_345);
    assert.equal(describeFailure(err, new InterruptedError('SIGINT')).message, 'interrupted: 12,345 rows were already committed (baseline runs in autocommit)');
    const lost = pgError('57P01', 'terminating connection due to administrator command');
    tagCommitted(lost, 7);
    assert.match(describeFailure(lost).message, /; 7 rows were already committed \(baseline runs in autocommit\)$/);
  });

  it('errors the user can fix keep their own message and code', () => {
    const err = new UsageError('bad flag');
    assert.equal(describeFailure(err), err);
  });
});
