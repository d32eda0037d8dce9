/**
 * `tsftpd gencert FILE [--cn NAME] [--days N] [--key KEYFILE] [--force]`: writes a self-signed
 * certificate and its private key for *testing* FTPS (upstream §10: -2 takes a PEM bundle, cert then
 * key, or the certificate and a separate key file). Guarantees: the files are written atomically
 * (temp file + rename, see atomic-file.ts) with mode 0600, as the key is secret, and an existing
 * file is never replaced unless --force is given. Clients will warn about a self-signed
 * certificate; production servers want one from a real CA (docs/tls.md).
 */
import { lstat } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generate } from 'selfsigned';
import { writeFileAtomic } from './atomic-file.js';

const USAGE = `Usage: tsftpd gencert FILE [--cn NAME] [--days N] [--key KEYFILE] [--force]

Writes a self-signed certificate and key for testing FTPS (mode 0600).
  FILE           the certificate and key in one PEM file (for -2 FILE)
  --cn NAME      the server name in the certificate (default: localhost)
  --days N       validity in days (default: 365)
  --key KEYFILE  write the key to KEYFILE instead (for -2 FILE,KEYFILE)
  --force        replace existing files
`;

/** Longest validity accepted: certificates beyond ~10 years only hide forgotten test material. */
const MAX_DAYS = 3650;

/** Subject alternative names: the name asked for, plus the loopback names a test uses. */
function altNames(cn: string): { type: 2 | 7; value?: string; ip?: string }[] {
  const names: { type: 2 | 7; value?: string; ip?: string }[] = [
    isIP(cn) !== 0 ? { type: 7, ip: cn } : { type: 2, value: cn },
  ];
  if (cn !== 'localhost') names.push({ type: 2, value: 'localhost' });
  if (cn !== '127.0.0.1') names.push({ type: 7, ip: '127.0.0.1' });
  if (cn !== '::1') names.push({ type: 7, ip: '::1' });
  return names;
}

async function exists(file: string): Promise<boolean> {
  return (await lstat(file).catch(() => undefined)) !== undefined;
}

/** Entry point of `tsftpd gencert`; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        cn: { type: 'string' },
        days: { type: 'string' },
        key: { type: 'string' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`tsftpd gencert: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    process.stderr.write(`tsftpd gencert: expected one output FILE\n${USAGE}`);
    return 2;
  }
  const certFile = path.resolve(positionals[0]);
  const keyFile = values.key === undefined ? undefined : path.resolve(values.key);
  const cn = values.cn ?? 'localhost';
  const days = Number(values.days ?? '365');
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
    process.stderr.write(`tsftpd gencert: --days must be a whole number from 1 to ${MAX_DAYS}\n`);
    return 2;
  }
  if (!/^[A-Za-z0-9.:*-]{1,253}$/.test(cn)) {
    process.stderr.write('tsftpd gencert: --cn must be a host name or an IP address\n');
    return 2;
  }
  for (const file of [certFile, ...(keyFile === undefined ? [] : [keyFile])]) {
    if (values.force !== true && (await exists(file))) {
      process.stderr.write(`tsftpd gencert: ${file} already exists (use --force to replace it)\n`);
      return 1;
    }
  }
  const notBeforeDate = new Date(Date.now() - 60_000); // a little slack for clocks a bit behind
  const pems = await generate([{ name: 'commonName', value: cn }], {
    keySize: 2048,
    algorithm: 'sha256', // the package's default, sha1, is refused by current TLS libraries
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + days * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: altNames(cn) },
    ],
  });
  try {
    if (keyFile === undefined) {
      await writeFileAtomic(certFile, pems.cert.trimEnd() + '\n' + pems.private.trimEnd() + '\n');
    } else {
      await writeFileAtomic(keyFile, pems.private.trimEnd() + '\n');
      await writeFileAtomic(certFile, pems.cert.trimEnd() + '\n');
    }
  } catch (err) {
    process.stderr.write(`tsftpd gencert: ${(err as Error).message}\n`);
    return 1;
  }
  const bundle = keyFile === undefined ? certFile : `${certFile},${keyFile}`;
  process.stdout.write(
    `tsftpd gencert: wrote a self-signed certificate for ${cn}, valid ${days} days, ` +
      `${keyFile === undefined ? `with its key, to ${certFile}` : `to ${certFile} and its key to ${keyFile}`}\n` +
      `Use it for testing only: tsftpd -Y 1 -2 ${bundle}\n` +
      `Clients will warn that it is self-signed (curl -k, lftp "set ssl:verify-certificate no").\n`,
  );
  return 0;
}
