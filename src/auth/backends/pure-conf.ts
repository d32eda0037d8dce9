/**
 * Pure-FTPd's generic_parser() (upstream §3.6), the format of the `-l ldap:FILE`, `-l mysql:FILE` and
 * `-l pgsql:FILE` configurations: `Keyword value` lines, leading blanks skipped, blank lines and
 * lines starting with `#` or a control character ignored; keywords are tried in table order and
 * matched case-insensitively as a *prefix* of the line; the value is the rest, trimmed of blanks
 * and control characters, and may not be empty. A repeated keyword keeps its last value.
 * Guarantees: every refusal names the file and the line; what a backend accepts (its keyword table)
 * and how it words a refusal stay in that backend's file.
 */

/** One value of a keyword file, with the 1-based line it came from (for later messages). */
export interface KeywordValue {
  value: string;
  line: number;
}

/** Why a line is refused. */
export type KeywordLineProblem =
  { kind: 'unknown-keyword'; word: string } | { kind: 'no-value'; keyword: string } | { kind: 'too-long' };

/** What one backend's files may hold and how it reports a bad line. */
export interface KeywordFileRules {
  /** Keywords in the backend's table order: the first prefix match wins. */
  keywords: readonly string[];
  /** The error thrown for a refused line; `where` is `file:line`. */
  refuse(where: string, problem: KeywordLineProblem): Error;
  /** Longest line accepted, in characters; unbounded when absent. */
  maxLineLength?: number;
}

/** isspace(3) in the C locale, as generic_parser uses it. */
const isSpace = (c: string): boolean => c === ' ' || (c >= '\t' && c <= '\r');
/** ISCTRLCODE: C0 controls and DEL. */
const isControl = (c: string): boolean => c < ' ' || c === '\x7f';

/** Parses a keyword file; returns the last value of each keyword (by its name in `rules.keywords`). */
export function parseKeywordFile(
  text: string,
  file: string,
  rules: KeywordFileRules,
): Map<string, KeywordValue> {
  const found = new Map<string, KeywordValue>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    let start = 0;
    while (start < raw.length && isSpace(raw[start])) start++;
    if (start === raw.length || isControl(raw[start]) || raw[start] === '#') continue;
    const line = raw.slice(start);
    const where = `${file}:${i + 1}`;
    if (rules.maxLineLength !== undefined && line.length > rules.maxLineLength) {
      throw rules.refuse(where, { kind: 'too-long' });
    }
    const keyword = rules.keywords.find((k) => line.slice(0, k.length).toLowerCase() === k.toLowerCase());
    if (keyword === undefined) {
      throw rules.refuse(where, { kind: 'unknown-keyword', word: /^\S*/.exec(line)?.[0] ?? line });
    }
    let end = line.length;
    while (end > keyword.length && (isSpace(line[end - 1]) || isControl(line[end - 1]))) end--;
    const value = line.slice(keyword.length, end).replace(/^\s+/, '');
    if (value === '') throw rules.refuse(where, { kind: 'no-value', keyword });
    found.set(keyword, { value, line: i + 1 });
  }
  return found;
}
