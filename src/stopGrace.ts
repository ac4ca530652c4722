/**
 * How long a stopped run may take to clean up, and how long whoever stops it waits before
 * killing it. One module so the two cannot drift apart: a job killed while it still rolls back
 * leaves its load tables for the next run to find, and its job row says "killed" for what was a
 * clean cancel.
 */

/** After its first stop signal the CLI cleans up for at most this long, then leaves anyway. */
export const CLI_CLEANUP_SECONDS = 20;

/**
 * The server sends SIGKILL this long after a cancel's SIGINT: the CLI's own limit and a margin
 * for it to exit and flush its last lines after giving up.
 */
export const JOB_CANCEL_GRACE_SECONDS = CLI_CLEANUP_SECONDS + 5;
