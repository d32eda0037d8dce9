/**
 * The options of `tsftpd pw` with pure-pw's letters, units and quirks (upstream §4.1): `-t/-T` are KB/s
 * stored as bytes/s, `-N` is MB stored as bytes, numbers are read like strtoul, an empty value clears
 * a setting (on usermod), `-u name` also sets the gid, `-D` once given keeps later `-d` unchrooted.
 * Parsing stops at the first bad option with pure-pw's message and exit status 1.
 */
import { isStorableIpList, parseTimeWindowHHMM } from '../../auth/passwd-line.js';
import { getopt } from '../getopt.js';
import { errorLine, toBinary } from '../output.js';
import { systemDb } from '../../auth/system-db.js';
import { cUnsigned } from '../c-number.js';
import {
  DEFAULT_CONCURRENT_LOGINS,
  DEFAULT_MEMORY_MB,
  MAX_MEMORY_KIB,
  MIN_MEMORY_KIB,
  memoryPerLoginKiB,
} from './hash-cost.js';

/** pure-pw's getopt string plus the hashing options -C and -M. */
const PW_OPTSTRING = 'c:d:D:f:F:g:hi:I:mn:N:q:Q:r:R:t:T:u:y:z:C:M:';

/** A numeric setting: a value, `null` to clear it (empty argument), undefined when not given. */
type Setting = number | null | undefined;

/** What the options ask to change; strings are binary (UTF-8 bytes as latin1 chars). */
export interface PwChanges {
  /** 0 when not given (pure-pw's convention: ids must be > 0). */
  uid: number;
  gid: number;
  home?: string;
  gecos?: string;
  bandwidthUp: Setting;
  bandwidthDown: Setting;
  quotaFiles: Setting;
  quotaBytes: Setting;
  ratioUp: Setting;
  ratioDown: Setting;
  maxSessions: Setting;
  /** `''` clears a list. */
  allowLocal?: string;
  denyLocal?: string;
  allowClient?: string;
  denyClient?: string;
  /** `HHMM-HHMM` as given, or null to clear. */
  timeWindow?: string | null;
}

/** Everything the command line asked for. */
export interface PwRequest {
  /** The operands after the action: the login (or, for mkdb, the .pdb file). */
  operands: string[];
  passwdFile?: string;
  pdbFile?: string;
  rebuildPdb: boolean;
  help: boolean;
  concurrent: number;
  memoryMB: number;
  changes: PwChanges;
}

/** Thrown for an option pure-pw rejects: print `message` and exit with `status`. */
export class PwUsageError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly showUsage = false,
  ) {
    super(message);
  }
}

/** A 64-bit unsigned value as a JS number; refuses what cannot be stored exactly. */
function safe(value: bigint, option: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new PwUsageError(`-${option}: value too large`, 1);
  return Number(value);
}

/** A text value as stored: a line break would start a forged account line (pure-pw writes it as is). */
function text(value: string, option: string): string {
  if (/[\r\n\0]/.test(value))
    throw new PwUsageError(`-${option}: line breaks cannot be stored in a passwd file`, 1);
  return toBinary(value);
}

/**
 * An IP list: stored verbatim, but a bare `:` would split the passwd line into wrong fields; IPv6
 * entries are written in brackets (`[2001:db8::]/32`), a tsftpd extension.
 */
function ipList(value: string, option: string): string {
  text(value, option);
  if (!isStorableIpList(value)) {
    throw new PwUsageError(
      `-${option}: ':' cannot be stored in a passwd file; write IPv6 entries in brackets: [2001:db8::]/32`,
      1,
    );
  }
  return toBinary(value);
}

/** Parses everything after the action word. */
export async function parsePwArgs(args: readonly string[]): Promise<PwRequest> {
  const { items, operands } = getopt(args, PW_OPTSTRING);
  const c: PwChanges = {
    uid: 0,
    gid: 0,
    bandwidthUp: undefined,
    bandwidthDown: undefined,
    quotaFiles: undefined,
    quotaBytes: undefined,
    ratioUp: undefined,
    ratioDown: undefined,
    maxSessions: undefined,
  };
  const req: PwRequest = {
    operands,
    rebuildPdb: false,
    help: false,
    concurrent: DEFAULT_CONCURRENT_LOGINS,
    memoryMB: DEFAULT_MEMORY_MB,
    changes: c,
  };
  let chroot = true;
  for (const item of items) {
    if (item.kind === 'error') throw new PwUsageError(item.message, 0, true);
    const v = item.value ?? '';
    switch (item.option) {
      case 'c':
        c.gecos = text(v, 'c');
        break;
      case 'D':
      case 'd': {
        if (item.option === 'D') chroot = false;
        const dir = v.replace(/\/+$/, '');
        if (dir === '') throw new PwUsageError('home directory is missing', 1);
        // pure-pw would store a relative home, which neither it nor the server can use afterwards.
        if (!dir.startsWith('/')) throw new PwUsageError('home directory must be an absolute path', 1);
        c.home = text(dir + (chroot ? '/./' : ''), item.option);
        break;
      }
      case 'f':
        req.passwdFile = v;
        break;
      case 'F':
        req.pdbFile = v;
        break;
      case 'g': {
        if (c.gid > 0 && c.uid <= 0) throw new PwUsageError('You already gave a gid', 1);
        const group = await systemDb('latin1').groupByName(toBinary(v));
        c.gid = group !== undefined ? group.gid : Number(cUnsigned(v, 32));
        break;
      }
      case 'h':
        req.help = true;
        return req;
      case 'i':
        c.allowLocal = ipList(v, 'i');
        break;
      case 'I':
        c.denyLocal = ipList(v, 'I');
        break;
      case 'm':
        req.rebuildPdb = true;
        break;
      case 'n':
        c.quotaFiles = v === '' ? null : safe(cUnsigned(v, 64), 'n');
        break;
      case 'N':
        c.quotaBytes = v === '' ? null : safe((cUnsigned(v, 64) * 1048576n) & ((1n << 64n) - 1n), 'N');
        break;
      case 'q':
      case 'Q': {
        const ratio = v === '' ? null : Number(cUnsigned(v, 32));
        if (ratio !== null && ratio < 1) {
          throw new PwUsageError(`Illegal ${item.option === 'q' ? 'upload' : 'download'} ratio`, 1);
        }
        if (item.option === 'q') c.ratioUp = ratio;
        else c.ratioDown = ratio;
        break;
      }
      case 'r':
        c.allowClient = ipList(v, 'r');
        break;
      case 'R':
        c.denyClient = ipList(v, 'R');
        break;
      case 't':
      case 'T': {
        // KB/s on the command line, bytes/s in the file; 0 leaves the setting as it was (pure-pw).
        let bw: Setting;
        if (v === '') bw = null;
        else if (cUnsigned(v, 64) > 0n)
          bw = safe((cUnsigned(v, 64) * 1024n) & ((1n << 64n) - 1n), item.option);
        if (bw !== undefined && item.option === 't') c.bandwidthDown = bw;
        if (bw !== undefined && item.option === 'T') c.bandwidthUp = bw;
        break;
      }
      case 'u': {
        if (c.uid > 0) throw new PwUsageError('You already gave an uid', 1);
        const user = await systemDb('latin1').userByName(toBinary(v));
        if (user !== undefined) {
          c.uid = user.uid;
          if (c.gid <= 0) c.gid = user.gid;
        } else {
          c.uid = Number(cUnsigned(v, 32));
        }
        break;
      }
      case 'y': {
        const max = Number(cUnsigned(v, 32));
        c.maxSessions = max > 0 ? max : null;
        break;
      }
      case 'z':
        if (parseTimeWindowHHMM(v) !== undefined) c.timeWindow = v;
        else if (v !== '')
          throw new PwUsageError('Time should be given as hhmm-hhmm\nExample : 0900-1800 (9 am to 6 pm)', 1);
        else c.timeWindow = null;
        break;
      case 'C': {
        const n = cUnsigned(v, 64);
        if (n < 1n) throw new PwUsageError('number of concurrent logins must be at least 1', 1);
        req.concurrent = n > 1_000_000_000n ? 1_000_000_000 : Number(n);
        break;
      }
      case 'M':
        req.memoryMB = safe(cUnsigned(v, 64), 'M');
        break;
    }
  }
  // pure-pw 1.0.50 rejects every -M below 8192 (it compares MB with libsodium's byte minimum);
  // we check what that comparison meant: each hash must get at least libsodium's minimum.
  const perLogin = memoryPerLoginKiB(req.memoryMB, req.concurrent);
  if (perLogin < MIN_MEMORY_KIB) throw new PwUsageError('memory reserved for password hashing is too low', 1);
  if (perLogin > MAX_MEMORY_KIB) {
    throw new PwUsageError(
      `memory reserved for password hashing is too high (at most ${MAX_MEMORY_KIB / 1024} MB per login)`,
      1,
    );
  }
  return req;
}

/** Prints a usage error the way the caller reported it. */
export function reportUsageError(err: PwUsageError): void {
  errorLine(toBinary(err.showUsage ? `tsftpd pw: ${err.message}` : err.message));
}
