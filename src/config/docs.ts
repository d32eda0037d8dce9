/**
 * Generates docs/switches.md from the switch table, so the documentation can never drift from the
 * parser (a unit test compares the file with this output; `npm run docs` rewrites it).
 */
import { SWITCHES } from './switches.js';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** The Markdown page listing every switch, its long names, its pure-ftpd.conf keys and its meaning. */
export function switchesMarkdown(): string {
  const rows = SWITCHES.filter((s) => s.kind !== 'unsupported').map((s) => {
    const short = s.short ? `\`-${s.short}\`` : '';
    const longs = [s.pureName, s.name]
      .filter((n, i, all): n is string => n !== undefined && all.indexOf(n) === i)
      .map((n) => `\`--${n}\``)
      .join(' ');
    const arg = s.arg ? `\`${cell(s.arg)}\`` : '';
    const conf = (s.conf ?? []).map((c) => `\`${c.key}\``).join(' ');
    return `| ${short} | ${longs} | ${arg} | ${conf} | ${cell(s.help)} |`;
  });
  const pending = SWITCHES.filter((s) => s.kind === 'unsupported').map(
    (s) => `\`-${s.short ?? ''}\` (\`--${s.name}\`)`,
  );
  return [
    '# Switches',
    '',
    "Every switch of `tsftpd` (the server). Short letters and the first long name are Pure-FTPd's;",
    'the second long name is a readable alias. The same settings can be given in a `pure-ftpd.conf`',
    'file (`--config FILE`, or the file as the only argument) with the keys shown. Precedence:',
    'built-in defaults < configuration file < command line. This page is generated from the switch',
    'table (`npm run docs`).',
    '',
    '| short | long | value | pure-ftpd.conf | meaning |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    'Pure-FTPd switches that tsftpd recognises but does not implement yet stop the server with',
    '`not supported yet`: ' + pending.join(', ') + '.',
    '',
  ].join('\n');
}
