/**
 * The files the operations switches write, opened by the process that starts the server (root,
 * when started as root, may open /var/log and /var/run where the session workers may not): the
 * transfer log of -O and the upload pipe of -o. This process's own events are attached to them;
 * `transfers` and `uploads` take what the session workers send.
 */
import type { Config } from '../config/types.js';
import type { EventBus } from '../telemetry/bus.js';
import { AltLogFile, attachTransferLog } from '../telemetry/altlog.js';
import { DEFAULT_UPLOAD_PIPE, UploadPipe, attachUploadRecords } from '../telemetry/upload-pipe.js';

/** The open sinks; the functions are undefined when the switch is off. */
export interface OperationSinks {
  /** Appends transfer-log lines (-O). */
  transfers?: (lines: string[]) => void;
  /** Queues upload-pipe records (-o). */
  uploads?: (records: Buffer[]) => void;
  /** Opens the transfer log again (logrotate: SIGUSR1, SIGHUP). */
  reopen(): void;
  close(): void;
}

/** Opens what -O and -o ask for; an error line (`tsftpd: -O ...`) when one cannot be opened. */
export function openOperationSinks(
  config: Readonly<Config>,
  bus: EventBus,
): OperationSinks | { error: string } {
  let altlog: AltLogFile | undefined;
  if (config.altLog !== undefined) {
    try {
      altlog = new AltLogFile(config.altLog, (message) => bus.log(undefined, 'ERROR', message));
    } catch (err) {
      return {
        error: `tsftpd: -O ${config.altLog.file}: cannot open the transfer log: ${(err as Error).message}`,
      };
    }
  }
  let pipe: UploadPipe | undefined;
  if (config.uploadScript) {
    const fifo = config.uploadPipe ?? DEFAULT_UPLOAD_PIPE;
    try {
      pipe = new UploadPipe(fifo, (message) => bus.log(undefined, 'WARNING', message));
    } catch (err) {
      altlog?.close();
      return { error: `tsftpd: -o: cannot open the upload pipe ${fifo}: ${(err as Error).message}` };
    }
  }
  const log = altlog;
  const up = pipe;
  const sinks: OperationSinks = {
    transfers: log === undefined ? undefined : (lines) => log.write(lines),
    uploads: up === undefined ? undefined : (records) => records.forEach((r) => up.push(r)),
    reopen: () => log?.reopen(),
    close: () => {
      log?.close();
      up?.close();
    },
  };
  if (config.altLog !== undefined && sinks.transfers !== undefined) {
    attachTransferLog(bus, config.altLog.format, sinks.transfers);
  }
  if (sinks.uploads !== undefined) attachUploadRecords(bus, sinks.uploads);
  return sinks;
}
