/**
 * `--help`, generated from the switch table so it can never miss a switch. Pure-FTPd prints
 * `-X\t--name\t<opt>` lines (spec §1.1); tsftpd adds the readable name and a help text, aligned.
 */
import type { SwitchSpec } from './switch-spec.js';
import { SWITCHES } from './switches.js';

/** Sort key: digits, then letters a A b B ..., then tsftpd's long-only switches in table order. */
function order(spec: SwitchSpec): string {
  const s = spec.short;
  if (s === undefined) return '~';
  return /\d/.test(s) ? `0${s}` : `1${s.toLowerCase()}${s === s.toLowerCase() ? 0 : 1}`;
}

/** The columns of one switch: letter, Pure-FTPd name, readable name (blank if the same), value, help. */
function columns(spec: SwitchSpec): string[] {
  return [
    spec.short === undefined ? '' : `-${spec.short}`,
    spec.pureName === undefined ? '' : `--${spec.pureName}`,
    spec.pureName === spec.name ? '' : `--${spec.name}`,
    spec.arg === undefined ? '' : `<${spec.arg}>`,
    spec.help,
  ];
}

function table(specs: SwitchSpec[]): string[] {
  const rows = [...specs]
    .sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0))
    .map(columns);
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) =>
    `  ${r.map((cell, c) => (c < 4 ? cell.padEnd(widths[c]!) : cell)).join('  ')}`.trimEnd(),
  );
}

/** The full help text: usage, every supported switch, then Pure-FTPd switches not supported yet. */
export function helpText(): string {
  const supported = SWITCHES.filter((s) => s.kind !== 'unsupported');
  const pending = SWITCHES.filter((s) => s.kind === 'unsupported');
  return [
    'Usage: tsftpd [switches]',
    '       tsftpd /path/to/pure-ftpd.conf',
    '',
    'Switches: Pure-FTPd letter, Pure-FTPd long name, readable long name, value, meaning.',
    'Letters can be grouped (-AjE); values follow the letter (-p30000:30099 or -p 30000:30099) or a long',
    'name (--bind ,2121 or --bind=,2121). Precedence: defaults < --config file < command line.',
    '',
    ...table(supported),
    '',
    'Pure-FTPd switches not supported yet (refused at start-up):',
    '',
    ...table(pending),
    '',
  ].join('\n');
}
