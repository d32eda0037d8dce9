/**
 * `pw show` and `pw list`, printing exactly what pure-pw prints (upstream §4.1): show's 17 aligned
 * lines (bandwidths in KB, size quota in MB, unset values as `0 (unlimited)` and lists missing from the line as `-`),
 * list as `login<TAB>home<TAB>gecos` into a pipe and as padded 19/39/19 columns on a terminal.
 */
import { parseTimeWindowHHMM, type PasswdRecord } from '../../auth/passwd-line.js';
import { Output, errorLine, strerror } from '../output.js';
import { systemDb } from '../../auth/system-db.js';
import { forEachAccount } from './passwd-file.js';

/** "enabled" when the setting is in force, as pure-pw labels it. */
function state(on: boolean): string {
  return on ? 'enabled' : 'unlimited';
}

/** The text of `pw show` for one account (binary string, with the blank lines around it). */
export async function formatShow(r: PasswdRecord): Promise<string> {
  const user = await systemDb('latin1').userById(r.uid);
  const group = await systemDb('latin1').groupById(r.gid);
  const time = r.timeWindow === undefined ? undefined : parseTimeWindowHHMM(r.timeWindow);
  const hhmm = (n: number): string => String(n).padStart(4, '0');
  // pure-pw prints `-` only for a list field the line does not reach; an empty field stays empty.
  const list = (v: string | undefined): string => v ?? '-';
  const has = (v: number | undefined): boolean => v !== undefined;
  const ratioUp = r.ratioUp ?? 0;
  const ratioDown = r.ratioDown ?? 0;
  const lines = [
    '',
    `Login              : ${r.login}`,
    `Password           : ${r.hash}`,
    `UID                : ${r.uid} (${user?.name ?? '-'})`,
    `GID                : ${r.gid} (${group?.name ?? '-'})`,
    `Directory          : ${r.home}`,
    `Full name          : ${r.gecos}`,
    `Download bandwidth : ${Math.floor((r.bandwidthDown ?? 0) / 1024)} Kb (${state(has(r.bandwidthDown))})`,
    `Upload   bandwidth : ${Math.floor((r.bandwidthUp ?? 0) / 1024)} Kb (${state(has(r.bandwidthUp))})`,
    `Max files          : ${r.quotaFiles ?? 0} (${state(has(r.quotaFiles))})`,
    `Max size           : ${Math.floor((r.quotaBytes ?? 0) / 1048576)} Mb (${state(has(r.quotaBytes))})`,
    `Ratio              : ${ratioUp}:${ratioDown} (${state(ratioUp > 0)}:${state(ratioDown > 0)})`,
    `Allowed local  IPs : ${list(r.allowLocal)}`,
    `Denied  local  IPs : ${list(r.denyLocal)}`,
    `Allowed client IPs : ${list(r.allowClient)}`,
    `Denied  client IPs : ${list(r.denyClient)}`,
    `Time restrictions  : ${hhmm(time?.begin ?? 0)}-${hhmm(time?.end ?? 0)} (${state(time !== undefined)})`,
    `Max sim sessions   : ${r.maxSessions ?? 0} (${state((r.maxSessions ?? 0) > 0)})`,
    '',
    '',
  ];
  return lines.join('\n');
}

/** printf's `%-Ns`: pads to N bytes (the strings are binary, one char per byte). */
function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** Prints every valid account of `file`; exit status 2 when the file cannot be read (pure-pw). */
export async function listAccounts(file: string, out: Output = new Output()): Promise<number> {
  const tty = process.stdout.isTTY === true;
  try {
    await forEachAccount(file, async (r) => {
      await out.write(
        tty
          ? `${pad(r.login, 19)} ${pad(r.home, 39)} ${pad(r.gecos, 19)}\n`
          : `${r.login}\t${r.home}\t${r.gecos}\n`,
      );
      return false;
    });
  } catch (err) {
    await out.flush();
    errorLine(`Unable to open the passwd file: ${strerror(err)}`);
    return 2;
  }
  await out.flush();
  return 0;
}
