/**
 * Citations lead somewhere. Code comments and documents cite the upstream reference page,
 * docs/pure-ftpd.md, as `upstream §N` or `upstream §N.M`; older ones still use the word `spec` in
 * place of `upstream` (same numbers). This test reads every .ts .c .h .cjs .mjs .md file under
 * src/, native/, test/ and docs/ (node_modules, dist and build skipped), plus README.md and
 * SECURITY.md, and checks:
 *
 * 1. every section number cited as upstream/spec has a heading in docs/pure-ftpd.md, i.e. a line
 *    starting with `#` whose text starts with that number (`## 2. FTP protocol surface` for 2,
 *    `### 2.3 Replies…` for 2.3); the page's own bare `§` cross-references must resolve too;
 * 2. once SPEC_CITATIONS_ALLOWED is false, no citation in the old form is left (the word `spec`
 *    before the section sign is to be rewritten as `upstream`).
 *
 * What counts as a citation: a `§` number directly after the word `spec` or `upstream` (any case,
 * possibly across a comment line break); the numbers that continue it (`, §6.3`, `§3.2–§3.4`,
 * `§15.15-16`, ranges expanded); and a bare `§` number with no document name of its own, which
 * belongs to the nearest earlier `§` citation within a few lines. A `§` after `RFC 959`,
 * `ARCHITECTURE`, `SECURITY.md` or `draft-…` cites that document and is not checked here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * True while old-style citations (the word `spec` before the section sign) are still accepted. Set
 * it to false once every one has been rewritten to `upstream §N`; from then on one fails the test.
 */
export const SPEC_CITATIONS_ALLOWED = false;

// Written as an escape so that this file holds no literal citation of its own.
const SECTION = '\u00a7';
const PAGE = 'docs/pure-ftpd.md';
const ROOTS = ['src', 'native', 'test', 'docs'];
const TOP_FILES = ['README.md', 'SECURITY.md'];
const SKIP_DIRS = new Set(['node_modules', 'dist', 'build']);
const EXTENSIONS = new Set(['.ts', '.c', '.h', '.cjs', '.mjs', '.md']);
/** How far back (characters) a bare `§` looks for the citation it continues. */
const INHERIT_WINDOW = 400;
/** Longest range expanded (`§2.1–§2.6`); anything longer is a typo. */
const MAX_RANGE = 30;

type Doc = 'spec' | 'upstream' | 'other' | 'unknown';

interface Citation {
  doc: Doc;
  section: string;
  line: number;
  text: string;
}

/** The repository root: the nearest parent of this file with package.json and docs/. */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'docs'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('repository root not found');
}

const NUMBER = String.raw`\d+(?:\.\d+)*`;
// `§N`, optionally a range: `§3.2–§3.4`, `§15.15-16` (no space before the dash: `§6.4 -0` is a switch).
const REFERENCE = new RegExp(`${SECTION}(${NUMBER})(?:[-–]${SECTION}?(${NUMBER}))?`, 'g');
// What may sit between a document name and its `§`: spaces, line breaks, comment leaders.
const GAP = String.raw`[\s*/#]*`;
const ANCHOR = new RegExp(
  String.raw`(?:\b(spec|upstream)|(RFC\s?\d+|ARCHITECTURE(?:\.md)?|SECURITY(?:\.md)?|draft-[\w.-]+))${GAP}$`,
  'i',
);

function expandRange(first: string, last: string | undefined): string[] {
  if (last === undefined) return [first];
  const a = first.split('.').map(Number);
  let b = last.split('.').map(Number);
  if (b.length < a.length) b = [...a.slice(0, a.length - b.length), ...b]; // §15.15-16
  const prefix = a.slice(0, -1);
  const from = a[a.length - 1];
  const to = b[b.length - 1];
  if (b.length !== a.length || b.slice(0, -1).join('.') !== prefix.join('.') || to < from) {
    return [first, last]; // not a simple range: check both ends as written
  }
  if (to - from > MAX_RANGE) return [first, last];
  const out: string[] = [];
  for (let n = from; n <= to; n++) out.push([...prefix, n].join('.'));
  return out;
}

/** Every `§` reference of a text, with the document it cites. */
function citations(text: string): Citation[] {
  const out: Citation[] = [];
  let previous: { doc: Doc; end: number } | undefined;
  for (const m of text.matchAll(REFERENCE)) {
    const at = m.index;
    const before = text.slice(Math.max(0, at - 60), at);
    const anchor = ANCHOR.exec(before);
    let doc: Doc;
    if (anchor !== null) {
      doc = anchor[1] !== undefined ? (anchor[1].toLowerCase() as 'spec' | 'upstream') : 'other';
    } else if (previous !== undefined && at - previous.end <= INHERIT_WINDOW) {
      doc = previous.doc;
    } else {
      doc = 'unknown';
    }
    const line = text.slice(0, at).split('\n').length;
    for (const section of expandRange(m[1], m[2])) out.push({ doc, section, line, text: m[0] });
    previous = { doc, end: at + m[0].length };
  }
  return out;
}

/** Section numbers that have a heading in the page. */
function headings(page: string): Set<string> {
  const out = new Set<string>();
  for (const line of page.split('\n')) {
    const m = /^#{1,6}\s+(\d+(?:\.\d+)*)\.?(?:\s|$)/.exec(line);
    if (m !== null) out.add(m[1]);
  }
  return out;
}

async function sourceFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name)) await walk(full);
      } else if (entry.isFile() && EXTENSIONS.has(path.extname(entry.name))) {
        out.push(full);
      }
    }
  };
  for (const dir of ROOTS) {
    const full = path.join(root, dir);
    if (existsSync(full)) await walk(full);
  }
  for (const file of TOP_FILES) {
    const full = path.join(root, file);
    if (existsSync(full)) out.push(full);
  }
  return out.sort();
}

interface Found extends Citation {
  file: string;
}

async function scan(): Promise<{ found: Found[]; sections: Set<string> }> {
  const root = repoRoot();
  const sections = headings(await readFile(path.join(root, PAGE), 'utf8'));
  const found: Found[] = [];
  for (const full of await sourceFiles(root)) {
    const file = path.relative(root, full);
    for (const c of citations(await readFile(full, 'utf8'))) {
      const checked = c.doc === 'spec' || c.doc === 'upstream' || (file === PAGE && c.doc === 'unknown');
      if (checked) found.push({ ...c, file });
    }
  }
  return { found, sections };
}

const where = (c: Found): string => `${c.file}:${c.line}: ${c.text} (${c.doc} ${SECTION}${c.section})`;

test('the citation scanner reads the forms used in the code', () => {
  const s = SECTION;
  const cases: Array<[string, Array<[Doc, string]>]> = [
    [`(upstream ${s}2.3)`, [['upstream', '2.3']]],
    [
      `(spec ${s}1.2, ${s}6.3, ${s}6.4)`,
      [
        ['spec', '1.2'],
        ['spec', '6.3'],
        ['spec', '6.4'],
      ],
    ],
    [`// Spec ${s}4.2: a backend value`, [['spec', '4.2']]],
    [`(spec\n * ${s}5.1), the`, [['spec', '5.1']]],
    [
      `(spec ${s}1.2,\n * ${s}6.2, ${s}15.16).`,
      [
        ['spec', '1.2'],
        ['spec', '6.2'],
        ['spec', '15.16'],
      ],
    ],
    [
      `spec ${s}3.2–${s}3.4`,
      [
        ['spec', '3.2'],
        ['spec', '3.3'],
        ['spec', '3.4'],
      ],
    ],
    [
      `(spec ${s}3.1, ${s}6.2 -u, ${s}15.15-16)`,
      [
        ['spec', '3.1'],
        ['spec', '6.2'],
        ['spec', '15.15'],
        ['spec', '15.16'],
      ],
    ],
    [`(spec ${s}6.4 -0, REST uploads)`, [['spec', '6.4']]],
    [
      `(RFC 959 ${s}4.1.3, spec ${s}2.3)`,
      [
        ['other', '4.1.3'],
        ['spec', '2.3'],
      ],
    ],
    [
      `(RFC 8446 ${s}4.1.2, ${s}4.2.11)`,
      [
        ['other', '4.1.2'],
        ['other', '4.2.11'],
      ],
    ],
    [
      `(ARCHITECTURE ${s}3, ${s}9)`,
      [
        ['other', '3'],
        ['other', '9'],
      ],
    ],
    [`(draft-somers-ftp-mfxx ${s}3)`, [['other', '3']]],
    [
      `(spec ${s}2.3 USER/PASS, ${s}6.1 anonymous)`,
      [
        ['spec', '2.3'],
        ['spec', '6.1'],
      ],
    ],
    [`see ${s}6.4 below`, [['unknown', '6.4']]],
  ];
  for (const [text, expected] of cases) {
    assert.deepEqual(
      citations(text).map((c) => [c.doc, c.section]),
      expected,
      text,
    );
  }
  assert.deepEqual(
    [...headings('# Title\n## 2. FTP\n### 2.3 Replies\n### 15.5 FEAT\nx 3.1\n')],
    ['2', '2.3', '15.5'],
  );
});

test(`every upstream/spec ${SECTION} citation names a heading of ${PAGE}`, async () => {
  const { found, sections } = await scan();
  // A scanner that finds nothing would pass vacuously: the code cites the page hundreds of times.
  assert.ok(found.length > 100, `only ${found.length} citations found: is the scanner broken?`);
  const dangling = found.filter((c) => !sections.has(c.section));
  assert.deepEqual(dangling.map(where), [], `cited sections without a heading in ${PAGE}`);
});

test(`no old-style "spec ${SECTION}" citation is left (enforced once SPEC_CITATIONS_ALLOWED is false)`, async (t) => {
  const { found } = await scan();
  const legacy = found.filter((c) => c.doc === 'spec');
  if (SPEC_CITATIONS_ALLOWED) {
    t.diagnostic(`${legacy.length} "spec ${SECTION}" citations left to rewrite as "upstream ${SECTION}"`);
    return;
  }
  assert.deepEqual(legacy.map(where), [], `rewrite these as "upstream ${SECTION}N"`);
});
