/** The machine a benchmark ran on, for the report: CPUs, memory, kernel, Node and Pure-FTPd versions. */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { tryRun } from './exec.js';
import { PURE_FTPD } from './servers.js';

/** Description of the benchmark machine. */
export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  pureFtpd: string | undefined;
  socat: string | undefined;
  fileLimit: number;
}

/** Collects the machine description. */
export async function describeMachine(fileLimit: number): Promise<Machine> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'latin1').catch(() => '');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  // `pure-ftpd --help` prints "pure-ftpd v1.0.50 [privsep]" first; Debian's package version is more exact.
  const dpkg = await tryRun('dpkg-query', ['-W', '-f', '${Version}', 'pure-ftpd']);
  const help = await tryRun(PURE_FTPD, ['--help']);
  const first = help?.stdout.split('\n')[0]?.trim() || help?.stderr.split('\n')[0]?.trim();
  const pureFtpd = first ? `${first}${dpkg?.stdout ? ` (Debian ${dpkg.stdout})` : ''}` : undefined;
  const socat = (await tryRun('socat', ['-V']))?.stdout.match(/socat version (\S+)/)?.[1];
  return {
    cpus: os.availableParallelism(),
    cpuModel: model,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    pureFtpd,
    socat,
    fileLimit,
  };
}
