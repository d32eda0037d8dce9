/**
 * The account commands of `tsftpd pw` (useradd, usermod, userdel, passwd, show), with pure-pw's
 * checks in pure-pw's order, its messages and its exit statuses, which are bit flags (upstream §4.1)
 * so that `-m` can OR in the status of the database rebuild.
 */
import { formatPasswdLine, type PasswdRecord } from '../../auth/passwd-line.js';
import { Output, errorLine, toBinary } from '../output.js';
import { hashNewPassword } from './hash-cost.js';
import { type PwChanges, type PwRequest } from './options.js';
import { fetchAccount, rewritePasswd, tempNameOf, type RewriteMode } from './passwd-file.js';
import { readNewPassword } from './password.js';
import { formatShow } from './show.js';

/** pure-pw's exit statuses (bit flags). */
export const PW_EXIT = {
  missingLogin: 1 << 0,
  missingPasswdFile: 1 << 1,
  userExists: 1 << 2,
  passwordEntry: 1 << 3,
  unableToFetch: 1 << 4,
  rootIds: 1 << 5,
  missingHome: 1 << 6,
  unexpected: 0xff,
} as const;

/** One command's inputs: the parsed request, the login (binary string) and the passwd file. */
export interface PwCommandInput {
  req: PwRequest;
  login: string | undefined;
  passwdFile: string;
}

/** Reports a missing login; userdel returned -1 there in pure-pw, hence its status 255. */
function missingLogin(status: number = PW_EXIT.missingLogin): number {
  errorLine('Missing login');
  return status;
}

/** Reads and hashes a new password; null (after pure-pw's message) when it could not be read. */
async function newHash(req: PwRequest): Promise<string | null> {
  const password = await readNewPassword();
  if (password === null) {
    errorLine('Error with entering password - aborting');
    return null;
  }
  return hashNewPassword(password, { totalMB: req.memoryMB, concurrent: req.concurrent });
}

/** The value a setting takes: given (number), cleared (null), or unchanged (undefined). */
function apply(current: number | undefined, setting: number | null | undefined): number | undefined {
  return setting === undefined ? current : (setting ?? undefined);
}

/** The record after applying the command-line changes (usermod/passwd semantics). */
function modified(r: PasswdRecord, c: PwChanges): PasswdRecord {
  const text = (current: string | undefined, given: string | undefined): string | undefined =>
    given ?? current;
  return {
    ...r,
    uid: c.uid > 0 ? c.uid : r.uid,
    gid: c.gid > 0 ? c.gid : r.gid,
    home: c.home ?? r.home,
    gecos: c.gecos ?? r.gecos,
    bandwidthUp: apply(r.bandwidthUp, c.bandwidthUp),
    bandwidthDown: apply(r.bandwidthDown, c.bandwidthDown),
    quotaFiles: apply(r.quotaFiles, c.quotaFiles),
    quotaBytes: apply(r.quotaBytes, c.quotaBytes),
    ratioUp: apply(r.ratioUp, c.ratioUp),
    ratioDown: apply(r.ratioDown, c.ratioDown),
    maxSessions: apply(r.maxSessions, c.maxSessions),
    allowLocal: text(r.allowLocal, c.allowLocal),
    denyLocal: text(r.denyLocal, c.denyLocal),
    allowClient: text(r.allowClient, c.allowClient),
    denyClient: text(r.denyClient, c.denyClient),
    timeWindow: c.timeWindow === undefined ? r.timeWindow : (c.timeWindow ?? undefined),
  };
}

/** Rewrites the file and maps the outcome to pure-pw's messages and statuses. */
async function rewrite(input: PwCommandInput, mode: RewriteMode, record?: PasswdRecord): Promise<number> {
  const login = input.login ?? '';
  let line: string | undefined;
  try {
    line = record === undefined ? undefined : formatPasswdLine(record);
  } catch (err) {
    // Only reachable with absurd values read from the file (beyond 2^53): refuse to write them.
    errorLine(`Unable to append a line: ${err instanceof Error ? err.message : String(err)}`);
    return PW_EXIT.unexpected;
  }
  const result = await rewritePasswd(input.passwdFile, login, mode, line);
  if (result === 'ok') return 0;
  if (result === 'failed') return PW_EXIT.unexpected;
  const temp = toBinary(tempNameOf(input.passwdFile));
  errorLine(
    mode === 'add'
      ? `Error.\nCheck that [${login}] doesn't already exist,\nand that [${temp}] can be written.`
      : `Error.\nCheck that [${login}] already exists,\nand that [${temp}] can be written.`,
  );
  return PW_EXIT.userExists;
}

/** `useradd`: a new account; uid, gid (> 0) and home are required; the password is asked. */
export async function userAdd(input: PwCommandInput): Promise<number> {
  const { req, login } = input;
  const c = req.changes;
  if (login === undefined) return missingLogin();
  if (c.uid <= 0 || c.gid <= 0) {
    errorLine('You must give (non-root) uid and gid');
    return PW_EXIT.rootIds;
  }
  if (c.home === undefined) {
    errorLine('Missing home directory');
    return PW_EXIT.missingHome;
  }
  const hash = await newHash(req);
  if (hash === null) return PW_EXIT.passwordEntry;
  // On useradd an empty argument means "not set": pure-pw would store 0 (or a 0-0 time window).
  const base: PasswdRecord = { login, hash, uid: c.uid, gid: c.gid, gecos: '', home: c.home };
  return rewrite(input, 'add', modified(base, c));
}

/** Loads the account for usermod/passwd/show, with pure-pw's message when it is not there. */
async function fetch(input: PwCommandInput, login: string): Promise<PasswdRecord | undefined> {
  const found = await fetchAccount(input.passwdFile, login);
  if ('record' in found) return found.record;
  errorLine(`Unable to fetch info about user [${login}] in file [${toBinary(input.passwdFile)}]`);
  return undefined;
}

/** `usermod` (and the second half of `passwd`): changes what the options say, moves the line last. */
export async function userMod(input: PwCommandInput, hash?: string): Promise<number> {
  if (input.login === undefined) return missingLogin();
  const record = await fetch(input, input.login);
  if (record === undefined) return PW_EXIT.unableToFetch;
  const next = modified(record, input.req.changes);
  if (hash !== undefined) next.hash = hash;
  return rewrite(input, 'replace', next);
}

/** `passwd`: asks for a new password, then applies it (and any other option) like usermod. */
export async function userPasswd(input: PwCommandInput): Promise<number> {
  if (input.login === undefined) return missingLogin();
  const hash = await newHash(input.req);
  if (hash === null) return PW_EXIT.passwordEntry;
  return userMod(input, hash);
}

/** `userdel`: removes every line of the account. */
export async function userDel(input: PwCommandInput): Promise<number> {
  if (input.login === undefined) return missingLogin(PW_EXIT.unexpected);
  return rewrite(input, 'delete');
}

/** `show`: prints the account in pure-pw's layout. */
export async function userShow(input: PwCommandInput): Promise<number> {
  if (input.login === undefined) return missingLogin();
  const record = await fetch(input, input.login);
  if (record === undefined) return PW_EXIT.unableToFetch;
  const out = new Output();
  await out.write(await formatShow(record));
  await out.flush();
  return 0;
}
