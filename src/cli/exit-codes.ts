/** The CLI's exit codes (documented in the README). */
export const EXIT_OK = 0;
/** Verify found damage or a mismatch. */
export const EXIT_DAMAGE = 1;
/** Bad usage or bad input: an invalid option, a missing source, an unwritable output… */
export const EXIT_USAGE = 2;
/** An error gulp-backup did not expect (a bug, or a system error it does not handle): printed with its stack, to report. */
export const EXIT_UNEXPECTED = 3;
/** Interrupted by Ctrl-C (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;
/** Ended by SIGTERM (128 + SIGTERM), after the same clean-up as Ctrl-C. */
export const EXIT_TERMINATED = 143;
