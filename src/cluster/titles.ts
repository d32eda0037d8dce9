/**
 * Process titles, so `ps` tells an admin what each tsftpd process is doing (Node sets the title of
 * the whole process; the kernel shows what fits in the space of the original command line). As
 * Pure-FTPd's session processes show `[IDLE]`, `[DOWNLOAD] file`, ...: a process that serves one
 * session (inetd mode) shows its account, peer, state and file; a session worker shows how many
 * sessions it serves and how many of them transfer. Titles follow events, at most four times a
 * second (a title is a system call; many small transfers must not pay one each).
 */
import type { EventBus, SessionRef } from '../telemetry/bus.js';

// The parent keeps its command line: `ps` shows how the server was started (switches, config file).

/** What one session is doing, as Pure-FTPd's titles say it. */
type SessionState = 'IDLE' | 'DOWNLOAD' | 'UPLOAD' | 'LIST';

interface Tracked {
  ref: SessionRef;
  state: SessionState;
  path: string;
}

/** Longest title we build (the kernel cuts it anyway at the original command line's length). */
const MAX_TITLE = 200;
/** Least time between two title changes, in milliseconds. */
const TITLE_INTERVAL_MS = 250;

/** A storage broker's title: whose files it opens. */
export function setBrokerTitle(uid: number, gid: number): void {
  process.title = `tsftpd: broker uid ${uid} gid ${gid}`;
}

/** `joe@192.0.2.7 [DOWNLOAD] /pub/file.iso` for one session (names cut, control bytes shown as `?`). */
function describeSession(t: Tracked): string {
  const who = `${t.ref.account ?? '?'}@${t.ref.remoteIp}`;
  const what = t.state === 'IDLE' ? '[IDLE]' : `[${t.state}] ${t.path}`;
  // eslint-disable-next-line no-control-regex -- control bytes are what we replace
  return `${who} ${what}`.replace(/[\x00-\x1f\x7f]/g, '?');
}

/** `worker 2 [5 sessions: 2 DOWNLOAD, 1 UPLOAD, 2 IDLE]`. */
function describeWorker(index: number, sessions: Iterable<Tracked>): string {
  const counts = new Map<SessionState, number>();
  let n = 0;
  for (const t of sessions) {
    n++;
    counts.set(t.state, (counts.get(t.state) ?? 0) + 1);
  }
  const parts = (['DOWNLOAD', 'UPLOAD', 'LIST', 'IDLE'] as const)
    .filter((s) => (counts.get(s) ?? 0) > 0)
    .map((s) => `${counts.get(s)} ${s}`);
  const head = `worker ${index} [${n} session${n === 1 ? '' : 's'}`;
  return parts.length === 0 || (parts.length === 1 && counts.has('IDLE'))
    ? `${head}]`
    : `${head}: ${parts.join(', ')}]`;
}

/**
 * Keeps this process's title in step with its sessions. `worker`: the worker's number (a session
 * worker); undefined: a process of one session (inetd). Returns a function that stops it.
 */
export function trackTitles(bus: EventBus, worker: number | undefined): () => void {
  const sessions = new Map<number, Tracked>();
  let timer: NodeJS.Timeout | undefined;
  let last = 0;
  const render = (): void => {
    timer = undefined;
    last = Date.now();
    let text: string;
    if (worker !== undefined) text = describeWorker(worker, sessions.values());
    else {
      const one = sessions.values().next();
      text = one.done === true ? 'starting' : describeSession(one.value);
    }
    process.title = `tsftpd: ${text}`.slice(0, MAX_TITLE);
  };
  const changed = (): void => {
    if (timer !== undefined) return;
    const wait = Math.max(0, last + TITLE_INTERVAL_MS - Date.now());
    timer = setTimeout(render, wait);
    timer.unref();
  };
  const offs = [
    bus.on('connect', ({ session }) => {
      sessions.set(session.id, { ref: session, state: 'IDLE', path: '' });
      changed();
    }),
    bus.on('login', ({ session }) => {
      const t = sessions.get(session.id);
      if (t !== undefined) t.ref = session;
      changed();
    }),
    bus.on('transfer-start', ({ session, direction, listing, path }) => {
      const t = sessions.get(session.id);
      if (t === undefined) return;
      t.state = listing ? 'LIST' : direction === 'upload' ? 'UPLOAD' : 'DOWNLOAD';
      t.path = path;
      changed();
    }),
    bus.on('transfer-end', ({ session }) => {
      const t = sessions.get(session.id);
      if (t === undefined) return;
      t.state = 'IDLE';
      t.path = '';
      changed();
    }),
    bus.on('disconnect', ({ session }) => {
      sessions.delete(session.id);
      changed();
    }),
  ];
  render();
  return () => {
    for (const off of offs) off();
    if (timer !== undefined) clearTimeout(timer);
  };
}
