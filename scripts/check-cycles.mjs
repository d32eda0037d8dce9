#!/usr/bin/env node
/**
 * Fails when the modules of src/ import each other in a circle (issue 11: no import cycles
 * anywhere). Every import counts, type-only ones included, so a cycle cannot hide behind
 * `import type`. Run by `npm run lint`; prints each cycle as a chain of files.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(process.argv[2] ?? 'src');
const files = [];
(function walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) files.push(p);
  }
})(root);
const known = new Set(files);

/** The files of src/ that `file` imports (relative specifiers only). */
function importsOf(file) {
  const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
  const out = [];
  for (const ref of info.importedFiles) {
    if (!ref.fileName.startsWith('.')) continue;
    const target = path.resolve(path.dirname(file), ref.fileName.replace(/\.js$/, '.ts'));
    if (known.has(target)) out.push(target);
  }
  return out;
}

const graph = new Map(files.map((f) => [f, importsOf(f)]));

// Tarjan's strongly connected components: every component of more than one file is a cycle.
let counter = 0;
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const cycles = [];
function visit(v) {
  index.set(v, counter);
  low.set(v, counter);
  counter++;
  stack.push(v);
  onStack.add(v);
  for (const w of graph.get(v)) {
    if (!index.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) {
      low.set(v, Math.min(low.get(v), index.get(w)));
    }
  }
  if (low.get(v) === index.get(v)) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v).includes(v)) cycles.push(component);
  }
}
for (const f of files) if (!index.has(f)) visit(f);

if (cycles.length === 0) {
  console.log(`check-cycles: ${files.length} modules, no import cycle`);
} else {
  for (const c of cycles) {
    console.error(`check-cycles: import cycle among ${c.length} modules:`);
    for (const f of c.sort()) console.error(`  ${path.relative(process.cwd(), f)}`);
  }
  process.exitCode = 1;
}
