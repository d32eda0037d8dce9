/**
 * The live session list (`tsftpd who`, the metrics and the status page): what each session is doing
 * right now, as plain data that crosses process boundaries (a worker's sessions travel to the parent,
 * the parent's list to `tsftpd who` over the who socket as JSON).
 */

/** What a session is doing (pure-ftpwho's IDLE, DL, UL; LIST is ours: a directory listing). */
export type WhoState = 'IDLE' | 'DL' | 'UL' | 'LIST';

/** One session, as `tsftpd who` shows it. Times are milliseconds since the epoch; sizes bytes. */
export interface WhoEntry {
  /** The session's id: unique among the server's live sessions (the id in logs; `who --kill ID`). */
  id: number;
  /** The process serving it (a session worker, or the server itself). */
  pid: number;
  /** Worker number, when session workers serve. */
  worker?: number;
  /** The node serving it, with a shared store (--state): its --node-name. */
  node?: string;
  /** Account once logged in (`ftp` for anonymous), `?` before. */
  account: string;
  anonymous: boolean;
  /** When the control connection was accepted. */
  since: number;
  state: WhoState;
  /** The file (or directory for LIST) of the current transfer, as the client named it; '' when idle. */
  file: string;
  remoteIp: string;
  remotePort: number;
  localIp: string;
  localPort: number;
  /** The control connection is encrypted (AUTH TLS or implicit TLS). */
  tls: boolean;
  /** When the current transfer started (0 when idle). */
  transferStart: number;
  /** REST offset of the current transfer. */
  resume: number;
  /** Bytes of the file present so far: the offset plus what this transfer moved. */
  current: number;
  /** Size of the whole file for a download (0 when unknown or for uploads). */
  total: number;
}

/** The who socket's answer to `list`. */
export interface WhoReport {
  /** The server's process id (the parent, when there are workers). */
  pid: number;
  /** When the server started. */
  started: number;
  /** When this list was taken. */
  now: number;
  sessions: WhoEntry[];
}

/** Bytes per second of an entry's transfer at `now` (0 when idle or just started). */
export function entrySpeed(e: WhoEntry, now: number): number {
  if (e.state === 'IDLE' || e.transferStart === 0) return 0;
  const seconds = (now - e.transferStart) / 1000;
  return seconds > 0 ? Math.max(0, e.current - e.resume) / seconds : 0;
}

/** Percent done of a download whose size is known (0–100), else undefined. */
export function entryPercent(e: WhoEntry): number | undefined {
  if (e.state === 'IDLE' || e.total <= 0) return undefined;
  return Math.min(100, Math.floor((e.current * 100) / e.total));
}
