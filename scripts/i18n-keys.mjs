// Lists every translatable text of the server: the key of each tr`...` template in src/ (its static
// parts joined by {0}, {1}...), as src/i18n/msg.ts computes it. Used by test/unit/i18n-catalogs
// (every catalog must have exactly these keys) and by translators:
//   node scripts/i18n-keys.mjs            one key per line, as JSON strings
//   node scripts/i18n-keys.mjs --missing de   the keys the German catalog lacks
import ts from 'typescript';
import { readdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function* sources(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sources(p);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) yield p;
  }
}

/** The keys of every tr`` template under src/, in first-seen order, with where each is used. */
export function collectKeys(srcDir = join(root, 'src')) {
  const keys = new Map();
  for (const file of sources(srcDir)) {
    if (file.includes(`${join('src', 'i18n', 'catalogs')}`)) continue;
    const text = readFileSync(file, 'utf8');
    if (!text.includes('tr`')) continue;
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const visit = (node) => {
      if (ts.isTaggedTemplateExpression(node) && ts.isIdentifier(node.tag) && node.tag.text === 'tr') {
        const tpl = node.template;
        let key;
        if (ts.isNoSubstitutionTemplateLiteral(tpl)) key = tpl.text;
        else {
          key = tpl.head.text;
          tpl.templateSpans.forEach((span, i) => {
            key += `{${i}}${span.literal.text}`;
          });
        }
        const where = `${file.slice(root.length + 1)}:${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
        if (!keys.has(key)) keys.set(key, where);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return keys;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const keys = collectKeys();
  const lang = process.argv[2] === '--missing' ? process.argv[3] : undefined;
  let have = new Set();
  if (lang !== undefined) {
    const mod = await import(join(root, 'dist', 'src', 'i18n', 'catalogs', `${lang}.js`));
    have = new Set(Object.keys(mod.default));
  }
  for (const key of keys.keys()) if (!have.has(key)) console.log(JSON.stringify(key));
}
