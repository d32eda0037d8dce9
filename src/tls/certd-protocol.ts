/**
 * pure-certd's protocol (upstream §10, -3): over a UNIX socket the server sends the client's SNI
 * name, `sni_name:<name>\nend\n`, and reads lines until `end`: `action:deny|default|fallback|strict`,
 * `cert_file:<absolute path>`, `key_file:<absolute path>` (the key may be in the cert file). Both
 * directions are bounded; anything malformed is treated as no answer, never guessed at.
 */

/** Largest request accepted by `tsftpd certd` (a 255-byte name and the framing fit many times). */
export const CERTD_MAX_REQUEST = 1024;
/** Largest answer read by the server. */
export const CERTD_MAX_REPLY = 8192;

/** What the certificate program decided for one name. */
export type CertdAction = 'deny' | 'default' | 'fallback' | 'strict';

/** A parsed answer. */
export interface CertdAnswer {
  action: CertdAction;
  certFile?: string;
  keyFile?: string;
}

/** Valid SNI names (upstream §10: at most 255 characters of A-Za-z0-9._-). */
export function validSniName(name: string): boolean {
  return /^[A-Za-z0-9._-]{1,255}$/.test(name);
}

/** The request for one name (the name must be valid: it is one line of the protocol). */
export function certdRequest(sni: string): string {
  if (!validSniName(sni)) throw new Error('invalid SNI name');
  return `sni_name:${sni}\nend\n`;
}

/**
 * The name a request asks about, once its `end` line has arrived (undefined before); a missing or
 * invalid name is empty (the program decides what an empty name gets).
 */
export function parseCertdRequest(text: string): { sni: string } | undefined {
  const lines = text.split('\n');
  const end = lines.indexOf('end');
  if (end < 0) return undefined;
  const line = lines.slice(0, end).find((l) => l.startsWith('sni_name:'));
  const sni = line?.slice('sni_name:'.length) ?? '';
  return { sni: validSniName(sni) ? sni : '' };
}

/** Parses an answer; undefined when it has no `end` line or no valid action. */
export function parseCertdAnswer(text: string): CertdAnswer | undefined {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const end = lines.indexOf('end');
  if (end < 0) return undefined;
  const answer: Partial<CertdAnswer> = {};
  for (const line of lines.slice(0, end)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1);
    if (key === 'action') {
      if (value !== 'deny' && value !== 'default' && value !== 'fallback' && value !== 'strict')
        return undefined;
      answer.action = value;
    } else if (key === 'cert_file' && value.startsWith('/')) answer.certFile = value;
    else if (key === 'key_file' && value.startsWith('/')) answer.keyFile = value;
  }
  return answer.action === undefined ? undefined : (answer as CertdAnswer);
}
