/**
 * Access control commands: USER, PASS, ACCT, QUIT (RFC 959 §4.1.1, upstream §2.3, §6.1, §12).
 * Security: failed logins are delayed (random part plus a step per failure so far) and the 6th
 * failure ends the session; the delay is a timer, so other sessions never wait. The password is
 * never logged (the command event for PASS is masked by the logger) nor kept after the check.
 */
import { randomInt } from 'node:crypto';
import { FtpError } from '../errors.js';
import { reply, type Reply } from '../session/reply.js';
import type { SessionContext } from '../session/context.js';
import { establishLogin } from '../session/login.js';
import type { Account, AuthResult } from '../auth/types.js';
import type { FailureVerdict } from '../policy/defender.js';
import type { CommandSpec } from './spec.js';
import { anonymousOnlyOn, checkLoginRules } from '../policy/login-rules.js';
import { hostDirName, hostRoot, vhostRoot } from '../policy/vhosts.js';
import { parseIp } from '../auth/cidr.js';
import { takeAnonymousSlot } from '../session/account-limits.js';
import { Code } from '../session/codes.js';
import { tr, type Text } from '../i18n/msg.js';

/** Longest login name kept (upstream §12). */
const MAX_LOGIN = 127;
/** Longest password accepted (upstream §2.3). */
const MAX_PASSWORD = 512;
/** The failure that ends the session (upstream §12). */
const MAX_FAILURES = 6;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function isAnonymousName(name: string): boolean {
  const n = name.toLowerCase();
  return n === '' || n === 'ftp' || n === 'anonymous';
}

/** Logs in as anonymous, or explains why not. */
async function anonymousLogin(s: SessionContext): Promise<Reply | void> {
  const anon = s.server.anonymous!;
  // A virtual host (upstream §6.1): the local address's own anonymous root, same account.
  const named = s.hostName === undefined ? undefined : await hostRoot(s.server.config.vhostDir, s.hostName);
  const vroot = named ?? (await vhostRoot(s.server.config.vhostDir, s.ref.localIp));
  const account: Account = {
    login: 'ftp',
    uid: anon.uid,
    gid: anon.gid,
    home: vroot ?? anon.root,
    chroot: true,
    anonymous: true,
    backend: 'anonymous',
    vhost: vroot === undefined ? undefined : named !== undefined ? s.hostName : s.ref.localIp,
  };
  // A full anonymous slot, a missing home, a full account: FtpErrors that end the session (the gate).
  await takeAnonymousSlot(s);
  return establishLogin(s, account);
}

/**
 * HOST (RFC 7151): names the virtual host before USER. A name whose directory exists under the
 * virtual hosts directory gives anonymous sessions that root (as the local address does without
 * HOST); an address literal must be the one the client reached. Accounts are unaffected.
 */
async function host(s: SessionContext, arg: string): Promise<Reply> {
  if (s.loggedIn || s.pendingUser !== undefined)
    return reply(Code.BAD_SEQUENCE, tr`HOST must come before USER`);
  if (arg === '') return reply(Code.BAD_ARGUMENTS, tr`Missing argument`);
  const name = hostDirName(arg);
  if (name === undefined) return reply(Code.BAD_ARGUMENTS, tr`Invalid host name`);
  const literal = arg.startsWith('[');
  const reached = parseIp(s.ref.localIp);
  const given = literal ? parseIp(name) : undefined;
  if (literal && (reached === undefined || given === undefined || Buffer.compare(reached, given) !== 0))
    return reply(Code.PARAMETER_NOT_IMPLEMENTED, tr`Unknown host ${arg}`);
  if (!literal && (await hostRoot(s.server.config.vhostDir, name)) === undefined)
    return reply(Code.PARAMETER_NOT_IMPLEMENTED, tr`Unknown host ${arg}`);
  s.hostName = literal ? undefined : name;
  s.server.bus.log(s.ref, 'INFO', `HOST: [${name}]`);
  return reply(Code.READY, tr`Host ${name} selected`);
}

/** -Y 2/3 (upstream §2.3 USER): cleartext logins are refused, and the session stays open. */
function cleartextRefusal(s: SessionContext): Reply | undefined {
  if (s.server.config.tls < 2 || s.tls !== undefined) return undefined;
  return reply(
    Code.SERVICE_UNAVAILABLE,
    tr`Sorry, cleartext sessions and weak ciphers are not accepted on this server.`,
    tr`Please reconnect using TLS security mechanisms.`,
  );
}

async function user(s: SessionContext, arg: string): Promise<Reply | void> {
  const cfg = s.server.config;
  const refused = cleartextRefusal(s);
  if (refused !== undefined) return refused;
  if (s.loggedIn) {
    if (!s.anonymous) return reply(Code.NOT_LOGGED_IN, tr`You're already logged in`);
    // -b: clients that send USER again expect to be asked for a password (upstream §6.4).
    return s.server.config.brokenClients
      ? reply(Code.NEED_PASSWORD, tr`Any password will work`)
      : reply(Code.LOGGED_IN, tr`Anonymous user logged in`);
  }
  const name = arg.slice(0, MAX_LOGIN);
  const anonymousPossible = s.server.anonymous !== undefined && !cfg.noAnonymous;
  // -e, or -V with a connection to another local address: every USER is anonymous (upstream §6.1).
  const onlyAnonymous = anonymousOnlyOn(cfg, s.ref.localIp);
  if (anonymousPossible && (onlyAnonymous || isAnonymousName(name))) {
    if (cfg.brokenClients) {
      s.pendingUser = '\0anonymous';
      return reply(Code.NEED_PASSWORD, tr`Any password will work`);
    }
    return anonymousLogin(s);
  }
  if (onlyAnonymous) return reply(Code.NOT_LOGGED_IN, tr`This server only accepts anonymous logins`);
  s.pendingUser = name;
  // Pure-FTPd names the account: `331 User joe OK. Password required` [obs on 1.0.50].
  return reply(Code.NEED_PASSWORD, tr`User ${name} OK. Password required`);
}

async function pass(s: SessionContext, arg: string): Promise<Reply | void> {
  if (s.loggedIn) {
    return s.anonymous
      ? reply(Code.LOGGED_IN, tr`Any password will work`)
      : reply(Code.NOT_LOGGED_IN, tr`We can't do that in the current session`);
  }
  const refused = cleartextRefusal(s);
  if (refused !== undefined) return refused;
  const login = s.pendingUser;
  if (login === undefined) return reply(Code.NOT_LOGGED_IN, tr`Please tell me who you are`);
  if (login === '\0anonymous') return anonymousLogin(s); // -b: USER ftp answered 331
  if (arg.length >= MAX_PASSWORD) return reply(Code.NOT_LOGGED_IN, tr`Line too long`);
  let result: AuthResult;
  // Account lockout (--ban-account-after): the backend is not even asked; the client sees a failure.
  const locked = await s.server.state.accountLocked(login).catch(() => undefined);
  if (locked !== undefined) {
    s.server.bus.log(s.ref, 'WARNING', `Login of [${login}] refused: account locked after failed logins`);
    result = { kind: 'denied', reason: 'account locked after failed logins' };
  } else
    try {
      result = await s.server.auth.authenticate(login, {
        password: arg,
        remoteIp: s.ref.remoteIp,
        localIp: s.ref.localIp,
        localPort: s.ref.localPort,
        tls: s.tls !== undefined,
        sni: s.tls?.sni,
        connection: s.connection,
      });
    } catch (err) {
      // A backend that cannot answer: its FtpError (421) ends the session at the gate, its detail
      // (naming the file or server and the fix) goes to the log; the reply text is logged once, as
      // the disconnect reason.
      if (err instanceof FtpError && err.detail === undefined)
        throw new FtpError(err.code, err.text, { detail: String(err.text) });
      throw err;
    }
  let refusal: Text = tr`Login authentication failed`;
  let reason: string;
  let backend = 'none';
  if (result.kind === 'ok') {
    backend = result.account.backend;
    const { uid } = result.account;
    const minUid = s.server.config.minUid;
    const rule = checkLoginRules(result.account, {
      remoteIp: s.ref.remoteIp,
      localIp: s.ref.localIp,
      now: new Date(),
    });
    if (!result.account.anonymous && minUid !== undefined && uid < minUid) {
      // Upstream §6.2, §15.16: -u is checked after the password and goes through the same delay.
      s.server.bus.log(s.ref, 'WARNING', `Can't login as [${login}]: account disabled (uid < ${minUid})`);
      reason = `uid ${uid} is below the minimum uid ${minUid}`;
      refusal = tr`Sorry, but I can't trust you`;
    } else if (rule !== undefined) {
      // Upstream §4.2: address and time rules fail like a wrong password; only the log names the rule.
      reason = rule.rule;
    } else {
      s.failedLogins = 0;
      return establishLogin(s, result.account);
    }
  } else {
    reason = result.kind === 'denied' ? result.reason : 'unknown user';
    if (result.kind === 'denied') backend = result.backend ?? 'none';
  }
  s.server.bus.emit('login-failed', { session: s.ref, login, reason, backend });
  // The defender (policy/defender.ts): past its threshold the address is banned, here and at connect.
  const verdict: FailureVerdict = await s.server.state.loginFailed(s.ref.remoteIp, login).catch(() => ({}));
  if (verdict.ban !== undefined) {
    const seconds = Math.max(1, Math.ceil((verdict.ban.until - Date.now()) / 1000));
    s.server.bus.log(
      s.ref,
      'WARNING',
      `Banned [${s.ref.remoteIp}] for ${seconds} seconds: too many failed logins (${verdict.ban.reason})`,
    );
    s.reply(Code.SERVICE_UNAVAILABLE, tr`This address is banned for ${seconds} more seconds`);
    s.close('Banned');
    return;
  }
  // Upstream §12: random part plus one step per failure so far, before answering.
  const unit = s.server.config.authDelayMs;
  await sleep(randomInt(0, unit + 1) + unit * s.failedLogins);
  s.failedLogins++;
  s.pendingUser = undefined;
  if (s.failedLogins >= MAX_FAILURES) {
    s.server.bus.log(s.ref, 'ERROR', 'Too many authentication failures');
    s.reply(Code.NOT_LOGGED_IN, refusal);
    s.close('Too many authentication failures');
    return;
  }
  return reply(Code.NOT_LOGGED_IN, refusal);
}

async function quit(s: SessionContext): Promise<void> {
  const t = s.transfer;
  if (t !== undefined) {
    t.reason = 'quit';
    t.abort.abort();
    await t.done;
  }
  const up = Math.ceil(s.uploadedBytes / 1024);
  const down = Math.ceil(s.downloadedBytes / 1024);
  s.reply(Code.CLOSING, tr`Goodbye. You uploaded ${up} and downloaded ${down} kbytes.`, tr`Logout.`);
  s.close('');
}

/** USER, PASS, ACCT, QUIT. */
export const authCommands: CommandSpec[] = [
  { verb: 'USER', login: false, arg: 'optional', help: 'USER <sp> username', run: user },
  {
    verb: 'PASS',
    login: false,
    arg: 'optional',
    help: 'PASS <sp> password',
    run: pass,
  },
  {
    verb: 'ACCT',
    login: false,
    arg: 'optional',
    help: 'ACCT <sp> account',
    run: async () => reply(Code.SUPERFLUOUS, tr`Please tell me who you are`),
  },
  {
    verb: 'HOST',
    login: false,
    arg: 'optional',
    feat: { line: 'HOST', order: 9 },
    help: 'HOST <sp> hostname',
    run: async (s, a) => host(s, a),
  },
  { verb: 'QUIT', login: false, arg: 'optional', duringTransfer: true, help: 'QUIT', run: quit },
];
