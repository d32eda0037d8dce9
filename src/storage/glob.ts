/**
 * Glob matching of one path component, with Pure-FTPd 1.0.50's rules (its bsd-glob, upstream §2.4):
 * `*`, `?`, `[abc]`, `[a-z]`, `[!a]`, `\` escapes; a name starting with `.` only matches a pattern
 * starting with a literal `.` (even with -a). What 1.0.50 does not have, we do not add: `[^a]` is a set of
 * `^` and `a`, and `{a,b}` is literal text (both observed). Matching is on UTF-8 bytes by default, so `?`
 * is one byte as in Pure-FTPd; `{ unicode: true }` opts into code points.
 *
 * Safety: no RegExp is ever built from client text. The matcher is iterative with a single backtrack
 * point, O(name × pattern) at worst, and Pure-FTPd refuses patterns with more than MAX_GLOB_STARS stars.
 */

/** Pure-FTPd 1.0.50 refuses an argument with more than this many `*` characters, escaped or not [obs]. */
export const MAX_GLOB_STARS = 3;

/** Options of a compiled matcher. */
export interface GlobOptions {
  /** Match code points instead of UTF-8 bytes (an opt-in improvement on Pure-FTPd). */
  unicode?: boolean;
}

/** One compiled pattern element. */
type Token =
  | { kind: 'literal'; unit: number }
  | { kind: 'one' }
  | { kind: 'star' }
  | { kind: 'set'; negate: boolean; ranges: Array<[number, number]> };

/** A pattern unit after escape processing: `quoted` units never act as glob syntax. */
interface Unit {
  unit: number;
  quoted: boolean;
}

const BACKSLASH = 0x5c;
const STAR = 0x2a;
const QUESTION = 0x3f;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const BANG = 0x21;
const DASH = 0x2d;
const DOT = 0x2e;

const encoder = new TextEncoder();

/** The units a string is matched on: UTF-8 bytes (Pure-FTPd) or code points. */
function toUnits(s: string, unicode: boolean): number[] {
  if (!unicode) return Array.from(encoder.encode(s));
  const out: number[] = [];
  for (const ch of s) out.push(ch.codePointAt(0) as number);
  return out;
}

/** Marks escaped units; a trailing lone `\` stays a literal backslash (bsd-glob GLOB_QUOTE). */
function protect(units: readonly number[]): Unit[] {
  const out: Unit[] = [];
  for (let i = 0; i < units.length; i++) {
    const u = units[i];
    if (u === BACKSLASH) {
      if (i + 1 < units.length) {
        out.push({ unit: units[i + 1], quoted: true });
        i++;
      } else {
        out.push({ unit: BACKSLASH, quoted: true });
      }
    } else {
      out.push({ unit: u, quoted: false });
    }
  }
  return out;
}

/** True when `u` is an unescaped `c`. */
function isSyntax(u: Unit | undefined, c: number): boolean {
  return u !== undefined && !u.quoted && u.unit === c;
}

/**
 * Compiles a bracket expression starting at `units[start]` (the `[`). Returns the token and the index
 * after it, or undefined when there is no closing `]` after the first member: then `[` is literal.
 */
function compileSet(units: readonly Unit[], start: number): { token: Token; next: number } | undefined {
  let i = start + 1;
  const negate = isSyntax(units[i], BANG);
  if (negate) i++;
  // The first member is taken literally even when it is `]`; a closing `]` must follow it somewhere.
  if (i >= units.length) return undefined;
  let closing = -1;
  for (let j = i + 1; j < units.length; j++) {
    if (isSyntax(units[j], RBRACKET)) {
      closing = j;
      break;
    }
  }
  if (closing < 0) return undefined;
  const ranges: Array<[number, number]> = [];
  let c = units[i++];
  for (;;) {
    const dash = units[i];
    const end = units[i + 1];
    if (isSyntax(dash, DASH) && end !== undefined && !isSyntax(end, RBRACKET)) {
      ranges.push([c.unit, end.unit]);
      i += 2;
    } else {
      ranges.push([c.unit, c.unit]);
    }
    c = units[i++];
    if (isSyntax(c, RBRACKET)) break;
  }
  return { token: { kind: 'set', negate, ranges }, next: i };
}

/** Compiles a pattern into tokens; adjacent stars collapse into one. */
function compile(pattern: string, unicode: boolean): Token[] {
  const units = protect(toUnits(pattern, unicode));
  const tokens: Token[] = [];
  let i = 0;
  while (i < units.length) {
    const u = units[i];
    if (!u.quoted && u.unit === LBRACKET) {
      const set = compileSet(units, i);
      if (set !== undefined) {
        tokens.push(set.token);
        i = set.next;
        continue;
      }
    } else if (!u.quoted && u.unit === QUESTION) {
      tokens.push({ kind: 'one' });
      i++;
      continue;
    } else if (!u.quoted && u.unit === STAR) {
      if (tokens[tokens.length - 1]?.kind !== 'star') tokens.push({ kind: 'star' });
      i++;
      continue;
    }
    tokens.push({ kind: 'literal', unit: u.unit });
    i++;
  }
  return tokens;
}

/** True when the token accepts the unit `k`. */
function accepts(token: Token, k: number): boolean {
  switch (token.kind) {
    case 'literal':
      return token.unit === k;
    case 'one':
      return true;
    case 'set': {
      const inSet = token.ranges.some(([lo, hi]) => lo <= k && k <= hi);
      return inSet !== token.negate;
    }
    case 'star':
      return false;
  }
}

/** Iterative wildcard match: on a mismatch, retry from the last star with one more unit swallowed. */
function matchTokens(tokens: readonly Token[], name: readonly number[]): boolean {
  let t = 0;
  let n = 0;
  let starToken = -1;
  let starName = 0;
  while (n < name.length) {
    const token = tokens[t];
    if (token !== undefined && token.kind === 'star') {
      starToken = t++;
      starName = n;
    } else if (token !== undefined && accepts(token, name[n])) {
      t++;
      n++;
    } else if (starToken >= 0) {
      t = starToken + 1;
      n = ++starName;
    } else {
      return false;
    }
  }
  while (tokens[t]?.kind === 'star') t++;
  return t === tokens.length;
}

/** True when the pattern has glob syntax (an unescaped `*` or `?`, or a complete `[...]`). */
export function hasGlob(pattern: string): boolean {
  return compile(pattern, true).some((t) => t.kind !== 'literal');
}

/** True when Pure-FTPd would refuse the argument ("Out of memory during globbing of ..."): too many `*`. */
export function globTooComplex(pattern: string): boolean {
  let stars = 0;
  for (const ch of pattern) if (ch === '*') stars++;
  return stars > MAX_GLOB_STARS;
}

/** The literal text of a pattern without glob syntax: escapes removed, a trailing `\` kept. */
export function unescapeGlob(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && i + 1 < pattern.length) {
      out += pattern[i + 1];
      i++;
    } else {
      out += c;
    }
  }
  return out;
}

/** Compiles a one-component pattern into a name predicate (Pure-FTPd semantics, see the file header). */
export function globToMatcher(pattern: string, options: GlobOptions = {}): (name: string) => boolean {
  const unicode = options.unicode ?? false;
  const tokens = compile(pattern, unicode);
  const first = tokens[0];
  // bsd-glob glob3(): "Initial DOT must be matched literally", whatever -a says [obs: `LIST -a *hidden`].
  const dotAllowed = first !== undefined && first.kind === 'literal' && first.unit === DOT;
  return (name: string): boolean => {
    if (name.startsWith('.') && !dotAllowed) return false;
    return matchTokens(tokens, toUnits(name, unicode));
  };
}
