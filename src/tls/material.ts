/**
 * Loading a certificate: the PEM chain and its private key, checked to belong together before
 * anything is served with them (the default certificate, -2, and those certd names, -3).
 */
import { readFile } from 'node:fs/promises';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';

/** The PEM material of one load (sent to worker processes, which cannot read root-only key files). */
export interface Material {
  key: string;
  cert: string;
  /** Every certificate found in the files (the CA list for client-certificate checks). */
  ca: string[];
  subject: string;
  validTo: string;
}

/** Reads and checks a certificate (chain) and its key; throws with the file's name when broken. */
export async function loadMaterial(opts: { certFile: string; keyFile?: string }): Promise<Material> {
  const certText = await readFile(opts.certFile, 'utf8');
  const keyText = opts.keyFile === undefined ? certText : await readFile(opts.keyFile, 'utf8');
  const certs = certText.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const key = keyText.match(
    /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----/,
  )?.[0];
  if (certs.length === 0) throw new Error(`${opts.certFile}: no PEM certificate found`);
  if (key === undefined) throw new Error(`${opts.keyFile ?? opts.certFile}: no PEM private key found`);
  const leaf = new X509Certificate(certs[0]!);
  // Building a context now proves key and certificate match before anything is served with them.
  tls.createSecureContext({ key, cert: certs.join('\n') });
  return { key, cert: certs.join('\n'), ca: certs, subject: leaf.subject, validTo: leaf.validTo };
}
