/**
 * `pw import-system`: pure-pwconvert's job (upstream §4.1). Prints the system accounts as
 * pureftpd.passwd lines with chrooted (`/./`) homes, to review and append to the passwd file.
 * As pure-pwconvert 1.0.50 (observed): accounts with uid or gid 0, a home that is not a directory,
 * or a shell missing from /etc/shells (unless it is `ftp`) are skipped; the hash is the shadow one
 * when /etc/shadow is readable and has the account, else the passwd field, and anything that is not
 * a `$...$` crypt string (locked `!`/`*`, `x`, empty, old DES) becomes `*`, a hash that never
 * matches; GECOS is cut at its first comma.
 */
import { readFile, stat } from 'node:fs/promises';
import {
  DEFAULT_SHELLS,
  SYSTEM_FILES,
  parseShadow,
  parseShells,
  type UnixFiles,
} from '../../auth/backends/unix-files.js';
import { parsePasswd } from '../../auth/system-db.js';
import { Output } from '../output.js';

/** pure-pwconvert's FAKE_SHELL: accepted even when not in /etc/shells. */
const FTP_SHELL = 'ftp';

/** True when the path is a directory (stat follows symlinks, as pure-pwconvert's stat(2)). */
async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** Prints the lines; always succeeds (status 0), as pure-pwconvert. */
export async function importSystem(
  files: UnixFiles = SYSTEM_FILES,
  out: Output = new Output(),
): Promise<number> {
  // Read once, as binary strings: the lines are printed byte-for-byte. Unreadable files count as
  // empty, except /etc/shells (getusershell's defaults) and /etc/shadow (the passwd field is used).
  const read = (file: string): Promise<string | undefined> => readFile(file, 'latin1').catch(() => undefined);
  const [passwdText, shellsText, shadowText] = await Promise.all([
    read(files.passwd),
    read(files.shells),
    read(files.shadow),
  ]);
  const users = parsePasswd(passwdText ?? '');
  const shells = shellsText === undefined ? DEFAULT_SHELLS : parseShells(shellsText);
  const shadow = shadowText === undefined ? undefined : parseShadow(shadowText);
  for (const u of users) {
    if (u.uid <= 0 || u.gid <= 0) continue;
    if (!(await isDirectory(Buffer.from(u.home, 'latin1').toString('utf8')))) continue;
    if (u.shell.toLowerCase() !== FTP_SHELL && !shells.has(u.shell)) continue;
    const stored = shadow?.get(u.name)?.hash ?? u.passwd;
    const hash = stored.startsWith('$') ? stored : '*';
    const comma = u.gecos.indexOf(',');
    const gecos = comma === -1 ? u.gecos : u.gecos.slice(0, comma);
    await out.write(`${u.name}:${hash}:${u.uid}:${u.gid}:${gecos}:${u.home}/./\n`);
  }
  await out.flush();
  return 0;
}
