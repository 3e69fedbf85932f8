// The bundle budget: prints every JavaScript chunk's gzipped size, and
// fails when what the landing page loads first (the entry chunk, the
// chunks it imports statically, and their CSS is not counted) is over
// 150 KiB gzipped. Everything else (dashboard, charts, forms) loads on
// demand and is listed for information.
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const budgetKiB = Number(process.env.BUDGET_KIB ?? 150);
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const manifest = JSON.parse(readFileSync(join(dist, '.vite', 'manifest.json'), 'utf8'));

const gz = (file) => gzipSync(readFileSync(join(dist, file))).length;
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;

const entryKey = Object.keys(manifest).find((k) => manifest[k].isEntry);
if (!entryKey) throw new Error('no entry chunk in the manifest');

// The landing page is in the entry chunk (the router imports it
// statically); its initial JavaScript is the entry and its static imports.
const initial = new Set();
(function visit(key) {
  const chunk = manifest[key];
  if (!chunk || initial.has(chunk.file)) return;
  initial.add(chunk.file);
  for (const imp of chunk.imports ?? []) visit(imp);
})(entryKey);

const rows = [];
const seen = new Set();
for (const chunk of Object.values(manifest)) {
  if (!chunk.file.endsWith('.js') || seen.has(chunk.file)) continue;
  seen.add(chunk.file);
  rows.push({ file: chunk.file, name: chunk.name ?? chunk.src ?? '', gzip: gz(chunk.file), initial: initial.has(chunk.file) });
}
rows.sort((a, b) => Number(b.initial) - Number(a.initial) || b.gzip - a.gzip);
console.log('JavaScript chunks (gzip):');
for (const r of rows) console.log(`  ${r.initial ? 'initial' : 'lazy   '}  ${kib(r.gzip).padStart(10)}  ${r.file}  (${r.name})`);
const total = rows.filter((r) => r.initial).reduce((s, r) => s + r.gzip, 0);
const all = rows.reduce((s, r) => s + r.gzip, 0);
console.log(`landing page initial JavaScript: ${kib(total)} gzipped (budget ${budgetKiB} KiB); all JavaScript: ${kib(all)}`);
if (total > budgetKiB * 1024) {
  console.error(`over budget by ${kib(total - budgetKiB * 1024)}: move more behind a lazy import`);
  process.exit(1);
}
