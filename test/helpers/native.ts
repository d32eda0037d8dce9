/**
 * Skip reasons for tests that need a native addon: on a machine where the addon cannot load (no
 * PAM headers when it was built, TSFTPD_DISABLE_ADDONS), the test is skipped with what to install;
 * under CI=true (ciSkip) it runs and fails instead.
 */
import { addonState, findPart, unavailableMessage } from '../../src/native-addons.js';

/** Why addon `name` (e.g. `tsftpd_pam`) cannot be used here, or undefined when it can. */
export function addonUnavailable(name: string): string | undefined {
  const state = addonState(name);
  const info = findPart(name);
  if (state.ok || info === undefined) return undefined;
  return unavailableMessage(info, state);
}
