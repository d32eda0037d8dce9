/**
 * Real system accounts for the unix/PAM tests (useradd, chpasswd, chage, usermod, userdel -r);
 * systemAccountsUnavailable() says why they cannot be made here, for ciSkip() (ci.ts).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Why real system accounts cannot be created here, or undefined. */
export async function systemAccountsUnavailable(): Promise<string | undefined> {
  if (process.geteuid?.() !== 0) return 'needs root (creates system accounts with useradd)';
  for (const tool of ['/usr/sbin/useradd', '/usr/sbin/userdel', '/usr/sbin/chpasswd', '/usr/bin/chage']) {
    try {
      await access(tool);
    } catch {
      return `${tool} not found`;
    }
  }
  return undefined;
}

/** Options of createUser(). */
export interface NewUser {
  password: string;
  shell?: string;
  /** A system account (uid below 1000, useradd -r). */
  system?: boolean;
  /** Parent directory of the home. */
  homeParent: string;
}

/** A created account. */
export interface SystemUser {
  login: string;
  home: string;
  uid: number;
  gid: number;
}

/** Logins created by this process, removed by removeUsers(). */
const created: string[] = [];

/** Creates an account with a home (useradd -m) and sets its password as yescrypt (chpasswd -c). */
export async function createUser(prefix: string, opts: NewUser): Promise<SystemUser> {
  const login = `${prefix}${randomBytes(3).toString('hex')}`;
  const home = `${opts.homeParent}/${login}`;
  const args = ['-m', '-d', home, '-s', opts.shell ?? '/bin/bash'];
  if (opts.system) args.push('-r');
  await run('useradd', [...args, login], { timeout: 15000 });
  created.push(login);
  const child = execFile('chpasswd', ['-c', 'YESCRYPT'], { timeout: 15000 });
  const done = new Promise<void>((resolve, reject) =>
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`chpasswd exited ${code}`)))),
  );
  child.stdin!.end(`${login}:${opts.password}\n`);
  await done;
  const { stdout } = await run('id', ['-u', login]);
  const { stdout: gid } = await run('id', ['-g', login]);
  return { login, home, uid: Number(stdout.trim()), gid: Number(gid.trim()) };
}

/** Runs an account tool (usermod, chage, passwd) with a bound. */
export async function accountTool(tool: string, args: string[]): Promise<void> {
  await run(tool, args, { timeout: 15000 });
}

/** The shadow hash of a login (to check which scheme chpasswd used). */
export async function shadowHash(login: string): Promise<string | undefined> {
  const text = await readFile('/etc/shadow', 'utf8');
  return text
    .split('\n')
    .find((l) => l.startsWith(`${login}:`))
    ?.split(':')[1];
}

/** Deletes every account created here, with its home (userdel -r). */
export async function removeUsers(): Promise<void> {
  while (created.length > 0) {
    const login = created.pop()!;
    await run('userdel', ['-r', '-f', login], { timeout: 15000 }).catch(() => undefined);
  }
}
