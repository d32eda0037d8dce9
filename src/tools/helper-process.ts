/**
 * What the helper subcommands that run beside the server share (`authd`, `uploadscript`, as
 * pure-authd and pure-uploadscript): user and group arguments, the PID file, and -B (run in the
 * background once started, as the server's -B does).
 */
import { constants as C } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { systemDb } from '../auth/system-db.js';
import {
  daemonChildOutput,
  runDaemonParent,
  takeDaemonChildMark,
  terminalOutput,
  type StartupOutput,
} from '../server/daemon.js';

/** A numeric id, or a name looked up in the system files. */
export async function resolveId(value: string, kind: 'user' | 'group'): Promise<number | undefined> {
  if (/^\d{1,10}$/.test(value)) return Number(value);
  const db = systemDb('latin1');
  return kind === 'user' ? (await db.userByName(value))?.uid : (await db.groupByName(value))?.gid;
}

/** PID file as the server writes it (recreated 0644, never through a symlink). */
export async function writePidFile(file: string): Promise<void> {
  await unlink(file).catch(() => undefined);
  const fh = await open(file, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o644);
  await fh.writeFile(`${process.pid}\n`);
  await fh.close();
}

/**
 * Runs helper `name` (`tsftpd <name> ...argv`): with -B in the foreground command, starts it in the
 * background and returns its start-up status; otherwise runs `run` with where start-up messages
 * go (the waiting parent under -B, else the terminal).
 */
export async function runHelper(
  name: string,
  argv: readonly string[],
  daemonize: boolean,
  run: (output: StartupOutput) => Promise<number>,
): Promise<number> {
  const daemonChild = takeDaemonChildMark();
  if (daemonize && !daemonChild) {
    return runDaemonParent(
      [name, ...argv],
      (pid) => `tsftpd ${name}: running in the background, pid ${pid}`,
      {
        prefix: `tsftpd ${name}`,
        what: 'helper',
      },
    );
  }
  const output = daemonChild ? daemonChildOutput() : terminalOutput();
  try {
    return await run(output);
  } finally {
    await output.close();
  }
}
