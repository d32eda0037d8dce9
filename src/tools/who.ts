/**
 * `tsftpd who` (pure-ftpwho): who is connected to the running tsftpd servers and what each session
 * is doing, read from each server's who socket (src/server/who-socket.ts), in every pure-ftpwho
 * output (text, -v, -s, -w, -W, -x, -p, CGI) plus `--json`; `--kill ID` ends a session. By default it
 * reads every server's socket in the default directory (/var/run/tsftpd as root), as pure-ftpwho
 * reads the one scoreboard of every Pure-FTPd instance; `--socket PATH` reads one.
 */
import { existsSync, readdirSync, unlinkSync } from 'node:fs';
import { lookupService } from 'node:dns/promises';
import net from 'node:net';
import path from 'node:path';
import { getopt } from './getopt.js';
import { defaultWhoDir, type WhoAnswer, type WhoRequest } from '../server/who-socket.js';
import { formatWho, type WhoMode } from './who-output.js';
import type { WhoEntry } from '../telemetry/who.js';
import { nameToBytes } from '../storage/name-bytes.js';

/** Where servers started as root keep their sockets. */
const ROOT_DIR = '/var/run/tsftpd';
/** How long one server may take to answer, and a name lookup. */
const ANSWER_TIMEOUT_MS = 5000;
const LOOKUP_TIMEOUT_MS = 1500;
/** Longest answer read from a server (about 20,000 sessions). */
const MAX_ANSWER = 64 * 1024 * 1024;

const USAGE = `Usage: tsftpd who [-c|-C] [-h] [-H|-n] [-p] [-s] [-v] [-w|-W] [-x] [--json] [--socket PATH] [--kill ID]

-c, -C : CGI mode: the HTML table after a Content-Type header (a whole page when GATEWAY_INTERFACE is set)
-h     : this help
-H, -n : numeric addresses (no host name lookups)
-p     : Apple plist output
-s     : one shell-parsable line per session (fields separated by |)
-v     : verbose text (local address and sizes)
-w     : a full HTML page
-W     : the HTML table only
-x     : XML output
--json : JSON output (all fields, sizes in bytes, times in milliseconds since 1970)
--socket PATH : read this server's socket only (default: every server in ${defaultWhoDir()})
--kill ID     : end session ID (the ID column) with a 421; root only (or the user a non-root server runs as);
                with --state, NODE:ID ends a session of that node (run it on that node)
`;

/** Sends one request to one server socket; resolves with its answer. */
export function ask(socketPath: string, req: WhoRequest): Promise<WhoAnswer> {
  return new Promise<WhoAnswer>((resolve, reject) => {
    const socket = net.connect(socketPath);
    const chunks: Buffer[] = [];
    let size = 0;
    socket.setTimeout(ANSWER_TIMEOUT_MS, () =>
      socket.destroy(Object.assign(new Error('the server did not answer'), { code: 'ETIMEDOUT' })),
    );
    socket.once('connect', () => socket.write(`${JSON.stringify(req)}\n`));
    socket.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_ANSWER) socket.destroy(new Error('the answer is too long'));
      else chunks.push(c);
    });
    socket.once('error', reject);
    socket.once('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as WhoAnswer);
      } catch {
        reject(new Error('the server sent no valid answer'));
      }
    });
  });
}

/** The sockets to read: `--socket`, else every `who-*.sock` of the default directory. */
export function sockets(explicit: string | undefined): { paths: string[]; scanned: boolean } {
  if (explicit !== undefined) return { paths: [explicit], scanned: false };
  const dir = defaultWhoDir();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES') throw new Error(`cannot read ${dir}: permission denied (run as root)`);
    return { paths: [], scanned: true };
  }
  return {
    paths: names.filter((n) => /^who-\d+\.sock$/.test(n)).map((n) => path.join(dir, n)),
    scanned: true,
  };
}

/** Host names of the addresses shown (pure-ftpwho resolves them unless -n/-H), bounded in time. */
async function hostNames(ips: Iterable<string>): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  await Promise.all(
    [...new Set(ips)].map(async (ip) => {
      if (net.isIP(ip) === 0) return;
      let timer: NodeJS.Timeout | undefined;
      const name = await Promise.race([
        lookupService(ip, 21).then(
          (r) => r.hostname,
          () => ip,
        ),
        new Promise<string>((resolve) => (timer = setTimeout(() => resolve(ip), LOOKUP_TIMEOUT_MS))),
      ]);
      clearTimeout(timer);
      names.set(ip, name);
    }),
  );
  return names;
}

export async function main(argv: string[]): Promise<number> {
  // The long options first (getopt here is pure-ftpwho's short-option set).
  let json = false;
  let socketPath: string | undefined;
  let kill: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const long = /^--(json|socket|kill|help)(?:=(.*))?$/.exec(a);
    if (long === null) {
      rest.push(a);
      continue;
    }
    const takes = long[1] === 'socket' || long[1] === 'kill';
    const value = takes ? (long[2] ?? argv[++i]) : undefined;
    if (takes && value === undefined) {
      process.stderr.write(`tsftpd who: --${long[1]} needs a value\n`);
      return 1;
    }
    if (long[1] === 'json') json = true;
    else if (long[1] === 'socket') socketPath = value;
    else if (long[1] === 'kill') kill = value;
    else {
      process.stdout.write(USAGE);
      return 0;
    }
  }
  const { items, operands } = getopt(rest, 'cChHnpsvwWx');
  // As pure-ftpwho: run by a web server (GATEWAY_INTERFACE set), a whole HTML page after the header;
  // -c/-C, the table only after it; a later option may still pick another output.
  let cgi = process.env.GATEWAY_INTERFACE !== undefined;
  let mode: WhoMode = cgi ? 'html' : 'text';
  let numeric = false;
  for (const item of items) {
    if (item.kind === 'error') {
      process.stderr.write(`tsftpd who: ${item.message}\n${USAGE}`);
      return 1;
    }
    switch (item.option) {
      case 'c':
      case 'C':
        cgi = true;
        mode = 'html-table';
        break;
      case 'h':
        process.stdout.write(USAGE);
        return 0;
      case 'H':
      case 'n':
        numeric = true;
        break;
      case 'p':
        mode = 'plist';
        break;
      case 's':
        mode = 'shell';
        break;
      case 'v':
        mode = 'verbose';
        break;
      case 'w':
        mode = 'html';
        break;
      case 'W':
        mode = 'html-table';
        break;
      case 'x':
        mode = 'xml';
        break;
    }
  }
  if (operands.length > 0) {
    process.stderr.write(`tsftpd who: unexpected argument ${operands[0]}\n${USAGE}`);
    return 1;
  }
  if (json) mode = 'json';
  let found: { paths: string[]; scanned: boolean };
  try {
    found = sockets(socketPath);
  } catch (err) {
    process.stderr.write(`tsftpd who: ${(err as Error).message}\n`);
    return 1;
  }
  if (kill !== undefined) return killSession(kill, found.paths);
  const entries: WhoEntry[] = [];
  let failures = 0;
  for (const p of found.paths) {
    try {
      const answer = await ask(p, { cmd: 'list' });
      if (answer.ok && 'sessions' in answer) entries.push(...answer.sessions);
      else if (!answer.ok) throw new Error(answer.error);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // A socket left by a server that is gone (pure-ftpwho removes such scoreboard files too).
      if (found.scanned && (code === 'ECONNREFUSED' || code === 'ENOENT')) {
        try {
          unlinkSync(p);
        } catch {
          // someone else removed it
        }
        continue;
      }
      failures++;
      const why =
        code === 'EACCES'
          ? 'permission denied (run as root, or as the server’s user)'
          : (err as Error).message;
      process.stderr.write(`tsftpd who: ${p}: ${why}\n`);
    }
  }
  if (failures > 0 && failures === found.paths.length) return 1;
  if (found.scanned && found.paths.length === 0 && (process.geteuid?.() ?? 0) !== 0 && existsSync(ROOT_DIR)) {
    // As pure-ftpwho says it must run as root: servers started as root are root's to list.
    process.stderr.write(
      `tsftpd who: no server of yours runs; servers started as root are listed by root (sudo tsftpd who)\n`,
    );
  }
  entries.sort((a, b) => a.since - b.since || a.id - b.id);
  const names =
    numeric || mode === 'json' ? undefined : await hostNames(entries.flatMap((e) => [e.remoteIp, e.localIp]));
  const out = formatWho(entries, mode, {
    now: Date.now(),
    hostOf: names === undefined ? undefined : (ip) => names.get(ip) ?? ip,
    cgi,
  });
  // Names are the bytes clients sent (storage/name-bytes.ts): written back as those bytes.
  process.stdout.write(nameToBytes(out));
  return 0;
}

/** `--kill [NODE:]ID`: asks every server until the one that serves the session ends it. */
async function killSession(idText: string, paths: readonly string[]): Promise<number> {
  const m = /^(?:([A-Za-z0-9._-]{1,64}):)?(\d{1,15})$/.exec(idText);
  if (m === null) {
    process.stderr.write(`tsftpd who: --kill wants a session ID (a number, or NODE:ID), not ${idText}\n`);
    return 1;
  }
  const node = m[1];
  idText = m[2];
  const id = Number(idText);
  for (const p of paths) {
    try {
      const answer = await ask(p, node === undefined ? { cmd: 'kick', id } : { cmd: 'kick', id, node });
      if (!answer.ok) {
        process.stderr.write(`tsftpd who: ${answer.error}\n`);
        return 1;
      }
      if ('kicked' in answer && answer.kicked) {
        process.stdout.write(`session ${id} ended\n`);
        return 0;
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES') {
        process.stderr.write(
          `tsftpd who: --kill: permission denied: only root (or the server's user) may end sessions\n`,
        );
        return 1;
      }
    }
  }
  process.stderr.write(`tsftpd who: no session ${id}\n`);
  return 1;
}
