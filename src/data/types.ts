/**
 * The data channel's own state, kept on the session: how the next data connection will be made,
 * and the transfer running now (ABOR, QUIT and STAT reach it through the session).
 */
import type net from 'node:net';
import type { VPath } from '../storage/types.js';
import type { PassiveListener } from './passive.js';
import type { ActiveTarget } from './active.js';

/** How the next data connection will be made. */
export type DataSetup =
  | { kind: 'passive'; listener: PassiveListener }
  | { kind: 'active'; target: ActiveTarget }
  /** Already connected by ESTA/ESTP; used by the next transfer. */
  | { kind: 'connected'; socket: net.Socket; passive: boolean };

/** The transfer running on a session, if any. */
export interface Transfer {
  direction: 'upload' | 'download';
  /** A directory listing (LIST, NLST, MLSD) rather than a file transfer. */
  listing: boolean;
  path: VPath;
  abort: AbortController;
  /** Why it was aborted: 'abor', 'quit', 'gone' (control connection lost). */
  reason?: 'abor' | 'quit' | 'gone';
  /** Resolves when the transfer's final reply has been sent. */
  done: Promise<void>;
  startedAt: number;
  offset: number;
  total?: number;
  bytes(): number;
}
