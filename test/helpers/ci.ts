/**
 * The skip rule shared by every test that needs something a machine may lack (a client tool, a
 * database, slapd, root): on a developer machine the test is skipped with its reason; with CI=true
 * nothing is skipped, so a gap on the CI machine fails loudly instead of passing unseen.
 */

/** True under CI=true, where a missing tool or service must fail the test, never skip it. */
export function isCi(): boolean {
  return process.env.CI === 'true';
}

/** `skip` option for node:test: the reason, or false when the test must run (nothing missing, or CI). */
export function ciSkip(reason: string | undefined): string | false {
  return reason === undefined || isCi() ? false : reason;
}
