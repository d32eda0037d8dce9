/**
 * `tsftpd certd -s SOCKET -r PROGRAM [-u uid] [-g gid] [-B] [-p pidfile] [-t seconds]`: pure-certd
 * (upstream §10). For each TLS handshake of a server started with `-3 SOCKET`, runs PROGRAM with
 * `CERTD_SNI_NAME` set to the name the client asked for, and relays its answer (`action:...`,
 * `cert_file:...`, `key_file:...`, `end`). Same guarantees as `tsftpd authd` (authd.ts): a 0600
 * socket, bounded requests, answers and run time, programs killed by PID on timeout and at exit.
 * Existing pure-certd programs work as they are.
 */
import { helperMain } from './authd.js';
import type { HelperProtocol } from './authd-run.js';
import { CERTD_MAX_REPLY, CERTD_MAX_REQUEST, parseCertdRequest } from '../tls/certd-protocol.js';

/** pure-certd's protocol: the request's name becomes CERTD_SNI_NAME. */
export const CERTD_PROTOCOL: HelperProtocol<{ sni: string }> = {
  name: 'certd',
  parse: parseCertdRequest,
  maxRequest: CERTD_MAX_REQUEST,
  maxReply: CERTD_MAX_REPLY,
  env: (request, base) => ({ ...base, CERTD_SNI_NAME: request.sni }),
};

/** `tsftpd certd ...` entry point. */
export function main(argv: string[]): Promise<number> {
  return helperMain(CERTD_PROTOCOL, argv);
}
