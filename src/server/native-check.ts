/**
 * The start-up check of the native parts against the configuration. Guarantees: a configured
 * feature whose addon cannot load stops the start with one line saying what to install (never a
 * server that starts and then refuses every login); tsftpd_fs is required by every configuration
 * (the jail); an optional part that is off is named on a start-up line with the JavaScript path
 * used instead.
 */
import type { Config } from '../config/types.js';
import {
  DISABLE_ENV,
  SODIUM_PART,
  addonState,
  disabledWords,
  findPart,
  isDisabled,
  nativeParts,
  installHint,
  unavailableMessage,
  type AddonInfo,
  type AddonState,
} from '../native-addons.js';
import { cryptAddon } from '../auth/hashes/native.js';

/** What the check found. */
export interface NativeCheck {
  /** One line per configured feature that cannot work: the start must stop. */
  errors: string[];
  /** Optional parts that are off, each with the fallback in use (for the start-up line). */
  off: string[];
  /** Every part and where it comes from (for the log). */
  summary: string;
}

/** Backends that compare passwords with stored hashes (crypt(3) for all but Argon2). */
const HASH_BACKENDS = new Set(['puredb', 'unix', 'ldap', 'mysql', 'pgsql']);

/** What an optional part's absence means for this server. */
const FALLBACKS: Record<string, string> = {
  pump: 'uploads and big downloads go through Node streams',
  sodium: 'Argon2 hashes use the argon2 package',
};

/** Why each required part is needed by this configuration (undefined: not needed). */
function neededBy(config: Readonly<Config>, part: string): string | undefined {
  switch (part) {
    case 'fs':
      return 'tsftpd';
    case 'crypt': {
      const hashes =
        config.auth.length === 0 ||
        config.passwdFile !== undefined ||
        config.auth.some((a) => HASH_BACKENDS.has(a.method));
      return hashes ? 'checking password hashes' : undefined;
    }
    case 'pam': {
      const pam = config.auth.find((a) => a.method === 'pam');
      return pam === undefined ? undefined : `-l ${pam.arg === undefined ? 'pam' : `pam:${pam.arg}`}`;
    }
    case 'syslog':
      return config.syslogFacility !== undefined && config.syslogFacility !== 'none'
        ? `-f ${config.syslogFacility} (syslog)`
        : undefined;
    default:
      return undefined;
  }
}

/** Checks every native part against `config`; never throws. */
export async function checkNativeParts(
  config: Readonly<Config>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<NativeCheck> {
  const errors: string[] = [];
  const off: string[] = [];
  const summary: string[] = [];
  for (const word of disabledWords(env)) {
    if (findPart(word) === undefined) {
      const known = nativeParts()
        .map((p) => p.part)
        .join(', ');
      errors.push(`${DISABLE_ENV}: unknown part "${word}" (known: ${known})`);
    }
  }
  for (const info of nativeParts()) {
    if (info === SODIUM_PART) continue;
    const state = addonState(info.name, env);
    summary.push(`${info.part} ${state.ok ? `(${state.origin === 'build' ? 'built' : 'prebuilt'})` : 'off'}`);
    if (state.ok) continue;
    const need = neededBy(config, info.part);
    if (need !== undefined) errors.push(unavailableMessage(info, state, need));
    else if (FALLBACKS[info.part] !== undefined) off.push(offEntry(info, state));
  }
  const sodium = await sodiumOff(env);
  summary.push(`sodium ${sodium === undefined ? 'on' : 'off'}`);
  if (sodium !== undefined) {
    off.push(
      offEntry(SODIUM_PART, {
        ok: false,
        reason: sodium,
        missing: true,
        disabled: sodium.includes(DISABLE_ENV),
      }),
    );
  }
  return { errors, off, summary: summary.join(', ') };
}

/** `part (why) - fallback`, plus what to install unless an admin turned it off on purpose. */
function offEntry(info: AddonInfo, state: AddonState & { ok: false }): string {
  const fix = state.disabled ? '' : ` [to enable: ${installHint(info, state)}]`;
  return `${info.part} (${state.reason}) - ${FALLBACKS[info.part] ?? 'off'}${fix}`;
}

/** Why libsodium is not used, or undefined when it is. */
async function sodiumOff(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (isDisabled(SODIUM_PART, env)) return `disabled by ${DISABLE_ENV}`;
  const crypt = await cryptAddon().catch(() => undefined);
  if (crypt === undefined) return 'tsftpd_crypt is not available';
  return crypt.sodiumVerify === undefined ? (crypt.sodiumError ?? 'libsodium not found') : undefined;
}

/** The start-up line naming what is off, or undefined when everything is on. */
export function offLine(check: NativeCheck): string | undefined {
  return check.off.length === 0 ? undefined : `optional native parts off: ${check.off.join('; ')}`;
}
