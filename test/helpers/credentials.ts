/** What a backend receives with a password, for tests that call an Authenticator directly. */
import type { Credentials } from '../../src/auth/types.js';

/** A plain login from and to 127.0.0.1 on port 21, without TLS; `over` changes any part of it. */
export function credentials(password: string, over: Partial<Credentials> = {}): Credentials {
  return { password, remoteIp: '127.0.0.1', localIp: '127.0.0.1', localPort: 21, tls: false, ...over };
}
