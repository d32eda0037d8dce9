/**
 * Switch table, part 6: rules applied to accounts once their backend has accepted them (upstream §1.2,
 * §6.2, §15.16).
 */
import type { SwitchSpec } from './switch-spec.js';
import { parseInteger, UINT_MAX } from './values.js';

/** -u. */
export const AUTH_SWITCHES: readonly SwitchSpec[] = [
  {
    short: 'u',
    pureName: 'minuid',
    name: 'min-uid',
    arg: 'uid',
    // Upstream §3.1: unix and PAM accept root by default; `-u 1` is how Pure-FTPd admins refuse it.
    help: 'refuse non-anonymous logins of accounts whose uid is below this value (-u 1 refuses root)',
    conf: [{ key: 'MinUID', form: 'value' }],
    apply: (c, v) => void (c.minUid = parseInteger(v, 'the uid', 0, UINT_MAX)),
  },
];
