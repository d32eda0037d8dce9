/**
 * The temp files of uploads in progress in this process (upstream §6.4 `.pureftpd-upload.*`). A temp file
 * not listed here is stale (a crash or kill -9 left it): its owner may delete it (issue: stale temp
 * files could not be removed); a live one may not be touched by clients.
 */

/** Real paths (Storage.describe) of temp files being written now. */
export const liveTemps = new Set<string>();

/** True when an upload of this process is writing that temp file. */
export function isLiveTemp(realPath: string): boolean {
  return liveTemps.has(realPath);
}
