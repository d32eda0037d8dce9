/**
 * A session worker (security-sensitive, see SECURITY.md; started by the parent, supervisor.ts): it
 * carries the whole FTP protocol — the sessions of the connections the parent hands it, TLS,
 * listings and transfers — and nothing else. Started as root, it loads its code and then becomes the
 * --run-as user for good, with no supplementary group, before its first connection; the files of
 * an account are then reached through a storage broker of that account's identity, and passwords
 * through the parent's authentication chain. Without the parent it has nothing to do: it exits
 * when the parent is gone.
 */
import type net from 'node:net';
import type { Config } from '../config/types.js';
import type { AnonymousAccount } from '../auth/anonymous.js';
import { FtpServer } from '../server/server.js';
import { EventBus } from '../telemetry/bus.js';
import { attachLogger } from '../telemetry/log.js';
import { logTarget } from '../server/startup-text.js';
import { CertificateStore } from '../tls/certificates.js';
import { ParentLink } from './parent-link.js';
import { IpcStateStore } from './ipc-state.js';
import { IpcAuthentication } from './ipc-auth.js';
import { attachTransferLog } from '../telemetry/altlog.js';
import { attachUploadRecords } from '../telemetry/upload-pipe.js';
import { trackTitles } from './titles.js';
import { BrokeredRoots } from './worker-storage.js';
import { preloadAddons } from '../native-addons.js';
import type { AskWhat, InitMessage, ParentMessage, WorkerMessage } from './protocol.js';
import { SessionMetrics } from '../telemetry/metrics.js';
import type { SniChoice } from '../tls/sni-certs.js';

/** Runs the worker until the parent says stop (or is gone); resolves with the exit status. */
export function runWorker(): Promise<number> {
  const send = (msg: WorkerMessage): void => {
    if (process.connected) process.send!(msg);
  };
  const link = new ParentLink(send);
  let server: FtpServer | undefined;
  let state: IpcStateStore | undefined;
  let tls: CertificateStore | undefined;
  let index = 0;
  let metrics: SessionMetrics | undefined;
  let reload: { config: Readonly<Config>; anonymous?: AnonymousAccount } | undefined;
  return new Promise<number>((resolve) => {
    const stop = async (graceMs: number): Promise<void> => {
      // Transfers in progress get graceMs to finish (server.close drains); a stuck close gets 1 s more.
      const timer = setTimeout(() => resolve(0), graceMs + 1000);
      timer.unref();
      await server?.close(graceMs);
      clearTimeout(timer);
      resolve(0);
    };
    /** The operations side's questions (`tsftpd who`, metrics). */
    const answerAsk = async (what: AskWhat, arg: number | undefined): Promise<unknown> => {
      switch (what) {
        case 'who':
          return server?.who(index) ?? [];
        case 'kick':
          return typeof arg === 'number' && server?.kick(arg) === true;
        case 'metrics':
          return (await metrics?.json()) ?? [];
      }
    };
    // The parent coordinates shutdown: a terminal's Ctrl-C reaches the whole process group.
    process.on('SIGINT', () => undefined);
    process.once('SIGTERM', () => void stop(5000));
    process.once('disconnect', () => {
      link.disconnect();
      void stop(2000);
    });
    process.on('message', (msg: ParentMessage, handle?: net.Socket) => {
      switch (msg.t) {
        case 'init':
          index = msg.index;
          start(msg, link).then(
            (started) => {
              ({ server, state, tls } = started);
              const srv = server;
              if (msg.config.metrics !== undefined)
                metrics = new SessionMetrics(srv.bus, `worker-${index}`, () => srv.who(index));
              if (reload !== undefined) server.reconfigure({ ...reload, auth: server.context.auth });
              trackTitles(server.bus, index);
              send({ t: 'ready' });
            },
            (err: unknown) => {
              process.stderr.write(`tsftpd worker ${index}: cannot start: ${String(err)}\n`);
              process.exit(1);
            },
          );
          return;
        case 'conn':
          if (server === undefined || handle === undefined) {
            handle?.destroy();
            send({ t: 'closed', id: msg.id });
            return;
          }
          server.setLiveSessions(msg.live);
          server.adopt(handle, {
            implicitTls: msg.implicitTls,
            connection: msg.id,
            peer: msg.peer,
            head: msg.head,
            onEnd: () => send({ t: 'closed', id: msg.id }),
          });
          return;
        case 'res':
          link.answer(msg);
          return;
        case 'share':
          state?.share(msg.key, msg.fraction);
          return;
        case 'tls':
          tls?.replace(msg.material);
          return;
        case 'config':
          // A worker still starting takes it once its server exists.
          reload = { config: msg.config, anonymous: msg.anonymous };
          server?.reconfigure({ ...reload, auth: server.context.auth });
          return;
        case 'stop':
          void stop(msg.graceMs);
          return;
        case 'ask':
          void answerAsk(msg.what, msg.arg).then(
            (value) => send({ t: 'told', id: msg.id, value }),
            () => send({ t: 'told', id: msg.id, value: undefined }),
          );
          return;
      }
    });
  });
}

/**
 * Becomes `to` for good, with no supplementary group, before any connection: throws if any of it
 * did not hold (the worker then exits and the parent reports it).
 */
function dropRoot(to: { uid: number; gid: number }): void {
  process.setgroups!([]);
  process.setgid!(to.gid);
  process.setuid!(to.uid);
  let back = false;
  try {
    process.setuid!(0);
    back = true;
  } catch {
    // expected: root is gone for good
  }
  const groups = process.getgroups!();
  if (
    back ||
    process.getuid!() !== to.uid ||
    process.geteuid!() !== to.uid ||
    process.getgid!() !== to.gid ||
    process.getegid!() !== to.gid ||
    groups.some((g) => g !== to.gid)
  ) {
    throw new Error(`could not become uid ${to.uid} gid ${to.gid} for good`);
  }
}

/** Builds the worker's server from what the parent sent. */
async function start(
  init: InitMessage,
  link: ParentLink,
): Promise<{ server: FtpServer; state: IpcStateStore; tls?: CertificateStore }> {
  const { config } = init;
  const bus = new EventBus();
  const target = logTarget(config);
  attachLogger(bus, {
    format: config.logFormat,
    verbose: config.verboseLog,
    syslog:
      target.kind === 'stderr'
        ? undefined
        : {
            facility: target.facility,
            ident: 'tsftpd',
            logPid: config.logPid,
            socketPath: target.socket,
            deliver: (records) => link.post({ t: 'log', records }),
          },
  });
  if (config.altLog !== undefined) {
    attachTransferLog(bus, config.altLog.format, (lines) => link.post({ t: 'xfer', lines }));
  }
  if (config.uploadScript) {
    attachUploadRecords(bus, (records) =>
      link.post({ t: 'upload', records: records.map((r) => r.toString('latin1')) }),
    );
  }
  const log = (level: 'INFO' | 'ERROR', message: string): void => bus.log(undefined, level, message);
  const tls =
    init.tls === undefined
      ? undefined
      : CertificateStore.fromMaterial(
          {
            certFile: config.certFile,
            keyFile: config.keyFile,
            ciphers: config.tlsCiphers,
            clientCert: config.tlsClientCert,
          },
          init.tls,
          log,
        );
  // -3: the parent asks the certificate program and sends the chosen certificate's material.
  if (tls !== undefined && config.extCertSocket !== undefined)
    tls.sniChooser = (name) => link.call('sni', { name }) as Promise<SniChoice>;
  const state = new IpcStateStore(link);
  // Started as root: account files are reached through the storage brokers the parent grants.
  const brokered = init.privileged ? await BrokeredRoots.open() : undefined;
  if (init.runAs !== undefined) {
    preloadAddons(['tsftpd_fs', 'tsftpd_pump', 'tsftpd_channel', 'tsftpd_syslog']);
    dropRoot(init.runAs);
  }
  const server = new FtpServer({
    config,
    auth: new IpcAuthentication(link),
    anonymous: init.anonymous,
    bus,
    tls,
    state,
    privileged: init.privileged,
    homesByParent: init.privileged,
    roots: brokered?.opener,
    ipv6Available: init.ipv6Available,
  });
  return { server, state, tls };
}
