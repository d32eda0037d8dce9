/**
 * `tsftpd uploadscript -r PROGRAM [-u uid] [-g gid] [-B] [-p pidfile] [--pipe FIFO]`:
 * pure-uploadscript (upstream §8). Reads the upload pipe the server fills with -o and runs PROGRAM
 * once per completed upload, one at a time and in order, with the file's path as its argument,
 * standard input and output on /dev/null, and Pure-FTPd's UPLOAD_SIZE, UPLOAD_PERMS, UPLOAD_UID,
 * UPLOAD_GID, UPLOAD_USER, UPLOAD_GROUP and UPLOAD_VUSER variables (the rest of the environment is
 * kept). Guarantees: records with control bytes or an over-long login are skipped, paths that are
 * not regular files (symlinks included) are skipped; the queue of waiting uploads is bounded (reading
 * the pipe pauses when it is full, so the server's own bounded queue takes the rest); it survives a
 * restart of the server (at the pipe's end it opens it again and waits); SIGTERM stops it after the
 * running program; the PID file is removed.
 */
import { spawn } from 'node:child_process';
import { constants as C, openSync } from 'node:fs';
import { lstat, unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { vhostFilePath } from '../policy/vhosts.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { getopt } from './getopt.js';
import { systemDb } from '../auth/system-db.js';
import { bytesToName } from '../storage/name-bytes.js';
import { DEFAULT_UPLOAD_PIPE } from '../telemetry/upload-pipe.js';
import type { StartupOutput } from '../server/daemon.js';
import { resolveId, runHelper, writePidFile } from './helper-process.js';

/** pure-uploadscript's default PID file, written when daemonized without -p. */
const DEFAULT_PIDFILE = '/var/run/pure-uploadscript.pid';
/** Tries to open the pipe at start (once a second), as pure-uploadscript does. */
const OPEN_TRIES = 30;
/** Most uploads waiting for the program. */
const MAX_WAITING = 10_000;
/** Longest login and path accepted in a record. */
const MAX_USER = 127;
const MAX_PATH = 4096 + 64;

const USAGE = `Usage: tsftpd uploadscript -r <program> [-u <uid>] [-g <gid>] [-B] [-p <pidfile>] [--pipe <fifo>]
  -r  program to run for each upload (absolute path)   -B  run in the background
  -u  run as this uid/user    -g  run as this gid/group -p  PID file (default with -B: ${DEFAULT_PIDFILE})
  --pipe  the server's upload pipe (default ${DEFAULT_UPLOAD_PIPE}; the server's --upload-pipe)
`;

interface Options {
  program: string;
  uid?: number;
  gid?: number;
  daemonize: boolean;
  pidFile?: string;
  pipe: string;
}

/** One upload: who sent it and the file. */
export interface UploadRecord {
  user: string;
  path: string;
}

async function parseArgs(argv: readonly string[]): Promise<Options | string> {
  // Long options of pure-uploadscript, and ours.
  const map: Record<string, string> = {
    '--run': '-r',
    '--uid': '-u',
    '--gid': '-g',
    '--daemonize': '-B',
    '--pidfile': '-p',
    '--help': '-h',
  };
  const args: string[] = [];
  let pipe = DEFAULT_UPLOAD_PIPE;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--pipe') {
      const v = argv[++i];
      if (v === undefined) return '--pipe needs a path';
      pipe = path.resolve(v);
    } else if (a.startsWith('--pipe=')) pipe = path.resolve(a.slice(7));
    else args.push(map[a] ?? a);
  }
  const { items, operands } = getopt(args, 'r:u:g:Bp:h');
  const o: Partial<Options> = { daemonize: false, pipe };
  for (const item of items) {
    if (item.kind === 'error') return item.message;
    const v = item.value ?? '';
    switch (item.option) {
      case 'r':
        if (!v.startsWith('/')) return '-r: the program must be an absolute path';
        o.program = v;
        break;
      case 'B':
        o.daemonize = true;
        break;
      case 'p':
        o.pidFile = path.resolve(v);
        break;
      case 'h':
        return 'help';
      case 'u':
      case 'g': {
        const kind = item.option === 'u' ? 'user' : 'group';
        const id = await resolveId(v, kind);
        if (id === undefined) return `-${item.option}: unknown ${kind} "${v}"`;
        if (item.option === 'u') o.uid = id;
        else o.gid = id;
        break;
      }
    }
  }
  if (operands.length > 0) return `unexpected argument "${operands[0]}"`;
  if (o.program === undefined) return '-r <program> is required';
  if ((o.uid !== undefined || o.gid !== undefined) && process.geteuid?.() !== 0) {
    return '-u and -g need root (the program runs as that user)';
  }
  return o as Options;
}

/** Splits the pipe's bytes into records (0x02 user 0x01 path 0x00), across reads. */
export class RecordReader {
  private buf: Buffer = Buffer.alloc(0);

  /** The complete records in what has arrived so far; malformed ones are skipped. */
  push(chunk: Buffer): UploadRecord[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: UploadRecord[] = [];
    for (;;) {
      const start = this.buf.indexOf(0x02);
      if (start < 0) {
        this.buf = Buffer.alloc(0);
        break;
      }
      const end = this.buf.indexOf(0x00, start);
      if (end < 0) {
        // Incomplete: keep it, unless it is already longer than any valid record.
        this.buf = this.buf.subarray(start);
        if (this.buf.length > MAX_USER + MAX_PATH + 2) this.buf = Buffer.alloc(0);
        break;
      }
      const rec = this.buf.subarray(start + 1, end);
      this.buf = this.buf.subarray(end + 1);
      const sep = rec.indexOf(0x01);
      if (sep <= 0 || sep > MAX_USER) continue;
      const user = rec.subarray(0, sep);
      const file = rec.subarray(sep + 1);
      // Control bytes are refused in both (a record must not smuggle a second one or a newline).
      if (user.some((b) => b < 0x20 || b === 0x7f) || file.some((b) => b < 0x20 || b === 0x7f)) continue;
      if (file.length === 0 || file.length > MAX_PATH || file[0] !== 0x2f) continue;
      // A virtual host's `<ip>:/x` is the file <vhost dir>/<ip>/x (upstream §8).
      out.push({ user: user.toString('utf8'), path: vhostFilePath(bytesToName(file)) });
    }
    return out;
  }
}

/** The environment of one run: Pure-FTPd's UPLOAD_* variables for the file as it is now. */
async function uploadEnv(rec: UploadRecord): Promise<NodeJS.ProcessEnv | undefined> {
  const st = await lstat(rec.path).catch(() => undefined);
  if (st === undefined || !st.isFile()) return undefined;
  const db = systemDb('latin1');
  const user = await db.userById(st.uid).catch(() => undefined);
  const group = await db.groupById(st.gid).catch(() => undefined);
  return {
    ...process.env,
    UPLOAD_SIZE: String(st.size),
    UPLOAD_PERMS: (st.mode & 0o7777).toString(8),
    UPLOAD_UID: String(st.uid),
    UPLOAD_GID: String(st.gid),
    ...(user !== undefined ? { UPLOAD_USER: user.name } : {}),
    ...(group !== undefined ? { UPLOAD_GROUP: group.name } : {}),
    UPLOAD_VUSER: rec.user,
  };
}

/** Runs the program for one upload and waits for it. */
function runOne(program: string, rec: UploadRecord, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(program, [rec.path], { stdio: 'ignore', env });
    } catch (err) {
      process.stderr.write(`tsftpd uploadscript: cannot run ${program}: ${(err as Error).message}\n`);
      resolve();
      return;
    }
    child.once('error', (err) => {
      process.stderr.write(`tsftpd uploadscript: cannot run ${program}: ${err.message}\n`);
      resolve();
    });
    child.once('exit', () => resolve());
  });
}

/** Opens the pipe for reading without blocking; retries while it does not exist yet. */
async function openPipe(
  file: string,
  tries: number,
  stopped: () => boolean,
): Promise<net.Socket | undefined> {
  for (let i = 0; i < tries && !stopped(); i++) {
    try {
      const st = await lstat(file);
      if (!st.isFIFO()) throw new Error(`${file} is not a FIFO`);
      // A raw descriptor (a FileHandle would close it when collected): the socket owns it.
      const fd = openSync(file, C.O_RDONLY | C.O_NONBLOCK | C.O_NOFOLLOW);
      return new net.Socket({ fd, readable: true, writable: false });
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') throw err;
      await sleep(1000);
    }
  }
  return undefined;
}

async function runUploadScript(o: Options, output: StartupOutput): Promise<number> {
  let stopping = false;
  let wake: (() => void) | undefined;
  const stop = (): void => {
    stopping = true;
    wake?.();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const pidFile = o.pidFile ?? (o.daemonize ? DEFAULT_PIDFILE : undefined);
  let socket: net.Socket | undefined;
  try {
    socket = await openPipe(o.pipe, OPEN_TRIES, () => stopping);
    if (socket === undefined) throw new Error(`${o.pipe} does not exist (start the server with -o first)`);
    if (pidFile !== undefined) await writePidFile(pidFile);
    // The pipe is open (root may need to open it); then the identity the program runs with.
    if (o.gid !== undefined) {
      process.setgroups?.([o.gid]);
      process.setgid?.(o.gid);
    }
    if (o.uid !== undefined) process.setuid?.(o.uid);
  } catch (err) {
    output.err(`tsftpd uploadscript: ${(err as Error).message}`);
    socket?.destroy();
    return 1;
  }
  await output.ready();
  const waiting: UploadRecord[] = [];
  const reader = new RecordReader();
  const attach = (s: net.Socket): Promise<void> =>
    new Promise((ended) => {
      s.on('data', (chunk: Buffer) => {
        for (const rec of reader.push(chunk)) waiting.push(rec);
        if (waiting.length >= MAX_WAITING) s.pause();
        wake?.();
      });
      s.on('error', () => undefined);
      s.once('close', () => ended());
    });
  let current = socket;
  let pipeEnded = attach(current);
  const runner = (async () => {
    while (!stopping) {
      const rec = waiting.shift();
      if (rec === undefined) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      if (waiting.length < MAX_WAITING / 2 && current.isPaused()) current.resume();
      const env = await uploadEnv(rec);
      if (env !== undefined) await runOne(o.program, rec, env);
    }
  })();
  // The server went away (every writer closed): open the pipe again and wait for the next one.
  while (!stopping) {
    await Promise.race([pipeEnded, runner]);
    if (stopping) break;
    await sleep(1000);
    const next = await openPipe(o.pipe, Number.MAX_SAFE_INTEGER, () => stopping).catch(() => undefined);
    if (next === undefined) break;
    current = next;
    pipeEnded = attach(next);
  }
  current.destroy();
  wake?.();
  await runner;
  if (pidFile !== undefined) await unlink(pidFile).catch(() => undefined);
  return 0;
}

/** `tsftpd uploadscript ...` entry point. */
export async function main(argv: string[]): Promise<number> {
  const parsed = await parseArgs(argv);
  if (parsed === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (typeof parsed === 'string') {
    process.stderr.write(`tsftpd uploadscript: ${parsed}\n${USAGE}`);
    return 2;
  }
  return runHelper('uploadscript', argv, parsed.daemonize, (output) => runUploadScript(parsed, output));
}
