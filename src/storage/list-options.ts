/**
 * LIST / STAT argument parsing, as Pure-FTPd 1.0.50 does it (upstream §2.4, observed on the real binary):
 * leading `-xyz` option groups, then space-separated glob arguments where `\ ` keeps a space.
 */
import { tr, type Msg } from '../i18n/msg.js';

/** The `ls` switches Pure-FTPd's built-in LIST understands (upstream §2.4). */
export interface ListFlags {
  /** -a: show dot-names, `.` and `..` (also forced by the server's -D switch). */
  all: boolean;
  /** -l: long format; LIST's default, turned off by -1 and -C. */
  long: boolean;
  /** -1: one name per line (the last of -1/-l/-C wins). */
  one: boolean;
  /** -C: names in columns, down then across. */
  columns: boolean;
  /** -F: type suffixes (`/`, `@`, `*`). */
  classify: boolean;
  /** -R: recurse into subdirectories. */
  recursive: boolean;
  /** -d: list directories themselves, not their contents. */
  directory: boolean;
  /** -r: reverse the sort order. */
  reverse: boolean;
  /** -t: newest first (cancels -S). */
  sortTime: boolean;
  /** -S: largest first (cancels -t). */
  sortSize: boolean;
}

/** What the command starts with before any option: LIST is long by default, -D forces -a. */
export interface ListDefaults {
  long?: boolean;
  all?: boolean;
}

/** A parsed LIST/STAT argument. */
export interface ParsedListArgs {
  flags: ListFlags;
  /** Glob arguments, still glob-escaped (`\*`), in the order given; empty means the current directory. */
  patterns: string[];
  /**
   * True when the argument split into several pieces (even an empty one from a double space): Pure-FTPd
   * then prints a `dir:` header before every directory it lists.
   */
  multiple: boolean;
}

/** C `isspace` in the C locale. */
function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
}

/** C `isalnum` in the C locale: option groups end at the first other character. */
function isAlnum(c: string | undefined): boolean {
  return c !== undefined && /^[A-Za-z0-9]$/.test(c);
}

/** Applies one option letter; the pairs that cancel each other mirror ls.c's donlist(). */
function applyOption(flags: ListFlags, letter: string): void {
  switch (letter) {
    case 'a':
      flags.all = true;
      break;
    case 'l':
      flags.long = true;
      flags.columns = false;
      flags.one = false;
      break;
    case '1':
      flags.long = false;
      flags.columns = false;
      flags.one = true;
      break;
    case 'C':
      flags.long = false;
      flags.columns = true;
      flags.one = false;
      break;
    case 'F':
      flags.classify = true;
      break;
    case 'R':
      flags.recursive = true;
      break;
    case 'd':
      flags.directory = true;
      break;
    case 'r':
      flags.reverse = true;
      break;
    case 't':
      flags.sortTime = true;
      flags.sortSize = false;
      break;
    case 'S':
      flags.sortSize = true;
      flags.sortTime = false;
      break;
    default:
      // Unknown letters are ignored, as Pure-FTPd does (clients send `-la`, `-lR`, `-A`...).
      break;
  }
}

/**
 * Splits the text after the options into arguments. An unescaped space ends an argument; `\ ` and
 * `\\` lose their backslash, any other `\x` is kept whole for the globber (ls.c
 * unescape_and_return_next_file). A trailing single space adds no argument; more spaces add empty ones.
 */
function splitArguments(text: string): string[] {
  const pieces: string[] = [];
  let current = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') {
      const next = text[i + 1];
      if (next === ' ' || next === '\\') {
        current += next;
        i += 2;
      } else {
        current += c;
        i += 1;
      }
      continue;
    }
    if (c === ' ') {
      pieces.push(current);
      current = '';
      i += 1;
      if (i >= text.length) return pieces;
      continue;
    }
    current += c;
    i += 1;
  }
  pieces.push(current);
  return pieces;
}

/** Parses a LIST/STAT argument: option groups first (`-la -R`, `-l-a`), then glob arguments. */
export function parseListArgs(arg: string, defaults: ListDefaults = {}): ParsedListArgs {
  const long = defaults.long ?? true;
  const flags: ListFlags = {
    all: defaults.all ?? false,
    long,
    one: false,
    columns: false,
    classify: false,
    recursive: false,
    directory: false,
    reverse: false,
    sortTime: false,
    sortSize: false,
  };
  let i = 0;
  while (isSpace(arg[i])) i++;
  // A group is `-` then letters/digits; it ends at the first other character, so `-l.txt` is `-l` then
  // the argument `.txt`, and `-l-a` is two groups (observed on Pure-FTPd 1.0.50).
  while (arg[i] === '-') {
    i++;
    while (isAlnum(arg[i])) {
      applyOption(flags, arg[i]);
      i++;
    }
    while (isSpace(arg[i])) i++;
  }
  const rest = arg.slice(i);
  if (rest === '') return { flags, patterns: [], multiple: false };
  const pieces = splitArguments(rest);
  return { flags, patterns: pieces.filter((p) => p !== ''), multiple: pieces.length > 1 };
}

/**
 * The `Options: ...` line Pure-FTPd adds to LIST's final 226 (upstream §2.4), or undefined when no flag is
 * set. Fixed order a C d F l r R S t; every flag is followed by a space except `-t`, which ends the
 * line bare (`Options: -l -t`), a quirk observed on 1.0.50 and kept for byte-exact replies.
 */
export function optionsLine(flags: ListFlags): Msg | undefined {
  const parts = [
    flags.all ? '-a ' : '',
    flags.columns ? '-C ' : '',
    flags.directory ? '-d ' : '',
    flags.classify ? '-F ' : '',
    flags.long ? '-l ' : '',
    flags.reverse ? '-r ' : '',
    flags.recursive ? '-R ' : '',
    flags.sortSize ? '-S ' : '',
    flags.sortTime ? '-t' : '',
  ].join('');
  return parts === '' ? undefined : tr`Options: ${parts}`;
}
