/**
 * `--help`, generated from the switch table so it can never miss a switch, and from the subcommand
 * list. Pure-FTPd prints `-X\t--name\t<opt>` lines (upstream §1.1); tsftpd adds the readable name and a
 * help text, wrapped so that no line is wider than HELP_WIDTH columns.
 */
import { SUBCOMMANDS } from '../subcommands.js';
import type { SwitchSpec } from './switch-spec.js';
import { SWITCHES } from './switches.js';

/** Widest line of the help text (a terminal of 100 columns shows it without wrapping). */
export const HELP_WIDTH = 96;
/** Column where the meaning starts; spellings wider than this put the meaning on the next line. */
const MEANING_COLUMN = 36;

/** Sort key: digits, then letters a A b B ..., then tsftpd's long-only switches in table order. */
function order(spec: SwitchSpec): string {
  const s = spec.short;
  if (s === undefined) return '~';
  return /\d/.test(s) ? `0${s}` : `1${s.toLowerCase()}${s === s.toLowerCase() ? 0 : 1}`;
}

/** Splits `text` into lines of at most `width` columns at spaces (a longer word gets its own line). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** `label` then `text` wrapped from `column` on (on the next line when `label` is too wide). */
function entry(label: string, text: string, column = MEANING_COLUMN): string[] {
  const indent = ' '.repeat(column);
  const body = wrap(text, HELP_WIDTH - column).map((l) => indent + l);
  if (label.length + 2 > column) return [label, ...body];
  const [first = '', ...rest] = body;
  return [label.padEnd(column) + first.trimStart(), ...rest];
}

/** The spellings of one switch: letter, Pure-FTPd name, readable name (if different), value. */
function spellings(spec: SwitchSpec): string {
  const names = [spec.pureName, spec.name].filter(
    (n, i, all): n is string => n !== undefined && all.indexOf(n) === i,
  );
  const parts = [spec.short === undefined ? '   ' : `-${spec.short}`, ...names.map((n) => `--${n}`)];
  if (spec.arg !== undefined) parts.push(`<${spec.arg}>`);
  return `  ${parts.join(' ')}`;
}

function table(specs: SwitchSpec[]): string[] {
  return [...specs]
    .sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0))
    .flatMap((spec) => entry(spellings(spec), spec.help));
}

/** The full help text: usage, the subcommands, every supported switch, then those not supported yet. */
export function helpText(): string {
  const supported = SWITCHES.filter((s) => s.kind !== 'unsupported');
  const pending = SWITCHES.filter((s) => s.kind === 'unsupported');
  return [
    'Usage: tsftpd [switches]                 run the FTP server',
    '       tsftpd /path/to/pure-ftpd.conf    run it with the settings of a Pure-FTPd config file',
    '       tsftpd <command> [arguments]      run an administration command',
    '',
    'Commands (tsftpd <command> -h shows the options of each):',
    '',
    ...SUBCOMMANDS.flatMap((c) => entry(`  ${c.name}`, c.summary, 16)),
    '',
    ...wrap(
      'Switches: Pure-FTPd letter, Pure-FTPd long name, readable long name, value, meaning. Letters ' +
        'can be grouped (-AjE); values follow the letter (-p30000:30099 or -p 30000:30099) or a long ' +
        'name (--bind ,2121 or --bind=,2121). Precedence: defaults < --config file < --debian-conf < command line.',
      HELP_WIDTH,
    ),
    '',
    ...table(supported),
    '',
    'Pure-FTPd switches refused at start-up (Bonjour exists only in macOS builds of Pure-FTPd):',
    '',
    ...table(pending),
    '',
  ].join('\n');
}
