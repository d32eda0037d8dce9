/**
 * Upload/download ratios (upstream §5.2): per-session counters; before each RETR the download must
 * keep (downloaded + size − rest) / down ≤ uploaded / up, else the 550 three-line refusal.
 */
import { FtpError } from '../errors.js';
import { tr } from '../i18n/msg.js';

/** An upload:download ratio. */
export interface Ratio {
  up: number;
  down: number;
}

/** Throws the 550 refusal when downloading `bytes` more would break the ratio. */
export function checkRatio(ratio: Ratio, uploaded: number, downloaded: number, bytes: number): void {
  if ((downloaded + bytes) / ratio.down <= uploaded / ratio.up) return;
  throw new FtpError('ERR_REFUSED', tr`Please upload some goodies and try leeching later.`, {
    preamble: [
      tr`Sorry, but the upload/download ratio is ${ratio.up}:${ratio.down} .`,
      tr`You currently uploaded ${Math.floor(uploaded / 1024)} Kb and downloaded ${Math.floor(downloaded / 1024)} Kb.`,
    ],
  });
}
