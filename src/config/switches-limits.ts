/**
 * Switch table, part 5: per-account limits — quotas, ratios, bandwidth and session caps (upstream §1.2,
 * §4.2, §5). Per-user values from an account (pureftpd.passwd, LDAP, SQL, extauth) override these.
 */
import { ValueError } from './errors.js';
import type { SwitchSpec } from './switch-spec.js';
import { parseInteger, splitPair, UINT_MAX } from './values.js';

/** Largest bandwidth in KB/s that still fits bytes/s in a safe integer. */
const MAX_KBPS = 1024 * 1024 * 1024;

/** `up:down` with both sides >= 1 (upstream §1.2 -q/-Q). */
function parseRatio(value: string): { up: number; down: number } {
  const [up, down] = splitPair(value, 'up:down, for example 1:5');
  return {
    up: parseInteger(up, 'the upload part', 1, UINT_MAX),
    down: parseInteger(down, 'the download part', 1, UINT_MAX),
  };
}

/**
 * `KB` (both ways) or `up:down` KB/s where either side may be empty (upstream §1.2 -t/-T); 0 is
 * refused as Pure-FTPd does ("Illegal value for throttling").
 */
export function parseBandwidth(value: string): { up?: number; down?: number } {
  const side = (text: string, what: string): number | undefined =>
    text === '' ? undefined : parseInteger(text, what, 1, MAX_KBPS) * 1024;
  if (!value.includes(':')) {
    const both = side(value, 'the bandwidth');
    if (both === undefined) throw new ValueError('expected KB or up:down in KB/s');
    return { up: both, down: both };
  }
  const [up, down] = splitPair(value, 'up:down in KB/s');
  const out = { up: side(up, 'the upload bandwidth'), down: side(down, 'the download bandwidth') };
  if (out.up === undefined && out.down === undefined) throw new ValueError('give at least one side');
  return out;
}

/** -n -q -Q -t -T -y. */
export const LIMIT_SWITCHES: readonly SwitchSpec[] = [
  {
    short: 'n',
    pureName: 'quota',
    name: 'quota',
    arg: 'files:MB',
    help: 'virtual quota for every account (anonymous excepted): max files : max megabytes; forces a chroot',
    conf: [{ key: 'Quota', form: 'pair' }],
    apply: (c, v) => {
      const [files, mb] = splitPair(v, 'files:MB, for example 1000:10');
      const f = files === '' ? undefined : parseInteger(files, 'the file count', 1, UINT_MAX);
      const m = mb === '' ? undefined : parseInteger(mb, 'the size in MB', 1, UINT_MAX);
      if (f === undefined && m === undefined) throw new ValueError('give the files, the MB, or both');
      c.quota = { files: f, bytes: m === undefined ? undefined : m * 1024 * 1024 };
    },
  },
  {
    short: 'q',
    pureName: 'anonymousratio',
    name: 'anonymous-ratio',
    arg: 'up:down',
    help: 'anonymous users must upload up bytes for every down bytes they download',
    conf: [{ key: 'AnonymousRatio', form: 'pair' }],
    apply: (c, v) => void (c.anonymousRatio = parseRatio(v)),
  },
  {
    short: 'Q',
    pureName: 'userratio',
    name: 'user-ratio',
    arg: 'up:down',
    help: 'upload/download ratio for every account except root',
    conf: [{ key: 'UserRatio', form: 'pair' }],
    apply: (c, v) => void (c.userRatio = parseRatio(v)),
  },
  {
    short: 't',
    pureName: 'anonymousbandwidth',
    name: 'anonymous-bandwidth',
    arg: 'KB|up:down',
    help: 'throttle anonymous transfers to KB/s (either side of up:down may be empty)',
    conf: [{ key: 'AnonymousBandwidth', form: 'pair' }],
    apply: (c, v) => {
      c.bandwidth = parseBandwidth(v);
      c.throttleAnonymous = true;
    },
  },
  {
    short: 'T',
    pureName: 'userbandwidth',
    name: 'user-bandwidth',
    arg: 'KB|up:down',
    help: 'throttle every transfer to KB/s; shares its value with -t (the letter picks who is throttled)',
    conf: [{ key: 'UserBandwidth', form: 'pair' }],
    apply: (c, v) => {
      c.bandwidth = parseBandwidth(v);
      c.throttleUsers = true;
      c.throttleAnonymous = true;
    },
  },
  {
    short: 'y',
    pureName: 'peruserlimits',
    name: 'per-user-limits',
    arg: 'user:anon',
    help: 'at most user concurrent sessions per account and anon anonymous sessions in total',
    conf: [{ key: 'PerUserLimits', form: 'value' }],
    apply: (c, v) => {
      const [user, anon] = splitPair(v, 'user:anon, for example 3:20');
      c.perUserLimits = {
        perUser: parseInteger(user, 'the per-account limit', 1, UINT_MAX),
        anonymous: parseInteger(anon, 'the anonymous limit', 1, UINT_MAX),
      };
    },
  },
];
