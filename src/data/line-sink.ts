/**
 * Listing lines on a data connection (LIST, NLST, MLSD): lines are gathered into ~64 KiB writes,
 * the socket's backpressure is honoured (the listing waits for the client to read), and names go
 * out as their exact bytes (storage/name-bytes.ts). A connection closed mid-listing fails with 426.
 */
import type net from 'node:net';
import { FtpError } from '../errors.js';
import { nameToBytes } from '../storage/name-bytes.js';
import { tr } from '../i18n/msg.js';

/** Bytes gathered before a write. */
const FLUSH_BYTES = 64 * 1024;

/** Where listing lines go: the data connection or a STAT reply. */
export interface LineSink {
  write(line: string): Promise<void>;
}

/** A line sink on a data socket; flush() writes what is gathered (call it before ending the socket). */
export function socketLineSink(socket: net.Socket): LineSink & { flush(): Promise<void> } {
  let buffered: string[] = [];
  let size = 0;
  const flush = async (): Promise<void> => {
    if (buffered.length === 0) return;
    const chunk = buffered.join('');
    buffered = [];
    size = 0;
    if (socket.write(nameToBytes(chunk))) return;
    await new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        socket.off('drain', onDrain);
        socket.off('close', onClose);
      };
      const onDrain = (): void => {
        cleanup();
        resolve();
      };
      const onClose = (): void => {
        cleanup();
        reject(new FtpError('ERR_DATA_CLOSED', tr`Data connection closed; transfer aborted`));
      };
      socket.on('drain', onDrain);
      socket.on('close', onClose);
    });
  };
  return {
    async write(line: string): Promise<void> {
      buffered.push(line, '\r\n');
      size += line.length + 2;
      if (size >= FLUSH_BYTES) await flush();
    },
    flush,
  };
}
