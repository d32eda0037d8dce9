/**
 * Switch table, part 3: what sessions may do to files, dot-names and listings (upstream §1.2, §6.3, §6.4).
 */
import { ValueError } from './errors.js';
import type { SwitchSpec } from './switch-spec.js';
import { parseInteger, parseMask, splitPair, UINT_MAX } from './values.js';

/** File, dot-name and listing switches. */
export const FILE_SWITCHES: readonly SwitchSpec[] = [
  {
    short: 'U',
    pureName: 'umask',
    name: 'umask',
    arg: 'files:dirs',
    help: 'creation masks in octal, or one mask for both (default 133:022)',
    conf: [{ key: 'Umask', form: 'pair' }],
    apply: (c, v) => {
      // Pure-FTPd: `files:dirs`, either side may be empty (kept as is), no colon = both (upstream §1.2).
      const [files, dirs] = v.includes(':') ? splitPair(v, 'files:dirs') : [v, v];
      if (files === '' && dirs === '')
        throw new ValueError('expected files:dirs or one mask, such as 133:022');
      const file = files === '' ? c.umask.file : parseMask(files, 'the file mask');
      const dir = dirs === '' ? c.umask.dir : parseMask(dirs, 'the directory mask');
      c.umask = { file, dir };
    },
  },
  {
    short: '0',
    pureName: 'notruncate',
    name: 'no-truncate',
    help: 'upload into a temporary file renamed over the target at the end',
    conf: [{ key: 'NoTruncate', form: 'bool' }],
    apply: (c) => void (c.noTruncate = true),
  },
  {
    short: 'r',
    pureName: 'autorename',
    name: 'auto-rename',
    help: 'never overwrite: an upload over name lands as name.1, name.2, ...',
    conf: [{ key: 'AutoRename', form: 'bool' }],
    apply: (c) => void (c.autoRename = true),
  },
  {
    short: 'K',
    pureName: 'keepallfiles',
    name: 'keep-all-files',
    help: 'nobody may delete files',
    conf: [{ key: 'KeepAllFiles', form: 'bool' }],
    apply: (c) => void (c.keepAllFiles = true),
  },
  {
    short: 'G',
    pureName: 'norename',
    name: 'no-rename',
    help: 'nobody may rename files',
    conf: [{ key: 'NoRename', form: 'bool' }],
    apply: (c) => void (c.noRename = true),
  },
  {
    short: 'R',
    pureName: 'nochmod',
    name: 'no-chmod',
    help: 'nobody but root may change permissions',
    conf: [{ key: 'NoChmod', form: 'bool' }],
    apply: (c) => void (c.noChmod = true),
  },
  {
    short: 'D',
    pureName: 'displaydotfiles',
    name: 'display-dot-files',
    help: 'LIST always shows dot-names, as with ls -a',
    conf: [{ key: 'DisplayDotFiles', form: 'bool' }],
    apply: (c) => void (c.displayDotFiles = true),
  },
  {
    short: 'x',
    pureName: 'prohibitdotfileswrite',
    name: 'prohibit-dot-files-write',
    help: 'users may read but not write dot-names',
    conf: [{ key: 'ProhibitDotFilesWrite', form: 'bool' }],
    apply: (c) => void (c.prohibitDotFilesWrite = true),
  },
  {
    short: 'X',
    pureName: 'prohibitdotfilesread',
    name: 'prohibit-dot-files-read',
    help: 'users may neither read nor write dot-names',
    conf: [{ key: 'ProhibitDotFilesRead', form: 'bool' }],
    // -X also forbids writing (upstream §6.3), so the write flag follows.
    apply: (c) => void ((c.prohibitDotFilesRead = true), (c.prohibitDotFilesWrite = true)),
  },
  {
    short: 'z',
    pureName: 'allowdotfiles',
    name: 'allow-dot-files',
    help: 'anonymous users may read dot-names',
    conf: [{ key: 'AllowDotFiles', form: 'bool' }],
    apply: (c) => void (c.allowDotFiles = true),
  },
  {
    short: 'L',
    pureName: 'limitrecursion',
    name: 'limit-recursion',
    arg: 'files:depth',
    help: 'listing limits: most entries shown, deepest LIST -R (default 10000:5)',
    conf: [{ key: 'LimitRecursion', form: 'pair' }],
    apply: (c, v) => {
      const [files, depth] = splitPair(v, 'files:depth, such as 10000:5');
      c.limitRecursion = {
        files: parseInteger(files, 'the number of files', 1, UINT_MAX),
        depth: parseInteger(depth, 'the depth', 1, UINT_MAX),
      };
    },
  },
  {
    name: 'follow-symlinks-out',
    help: 'follow symlinks placed by the admin that point outside an account root',
    conf: [{ key: 'FollowSymlinksOut', form: 'bool' }],
    apply: (c) => void (c.followSymlinksOut = true),
  },
  {
    name: 'weak-jail',
    help: 'on kernels without openat2 (Linux < 5.6), confine accounts by a weaker userland path walk instead of refusing them',
    conf: [{ key: 'WeakJail', form: 'bool' }],
    apply: (c) => void (c.weakJail = true),
  },
];
