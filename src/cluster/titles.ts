/**
 * Process titles, so `ps` tells an admin what each tsftpd process is (Node sets the title of the
 * whole process; the kernel shows what fits in the space of the original command line).
 */

// The parent keeps its command line: `ps` shows how the server was started (switches, config file).

/** A session worker's title: its number and how many sessions it serves. */
export function setWorkerTitle(index: number, sessions: number): void {
  process.title = `tsftpd: worker ${index} [${sessions} session${sessions === 1 ? '' : 's'}]`;
}

/** A storage broker's title: whose files it opens. */
export function setBrokerTitle(uid: number, gid: number): void {
  process.title = `tsftpd: broker uid ${uid} gid ${gid}`;
}
