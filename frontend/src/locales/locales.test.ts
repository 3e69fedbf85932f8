// The message catalogs: every key exists in both languages, every key
// the code asks for exists, and the Arabic catalog is Arabic.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import ar from './ar.json';
import en from './en.json';

type Tree = { [k: string]: string | Tree };

function flatten(t: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(t)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') out.set(key, v);
    else for (const [kk, vv] of flatten(v, key)) out.set(kk, vv);
  }
  return out;
}

// i18next plural forms: English has one/other, Arabic zero/one/two/few/many/other.
const plural = /_(zero|one|two|few|many|other)$/;
const base = (k: string) => k.replace(plural, '');

const enKeys = flatten(en as Tree);
const arKeys = flatten(ar as Tree);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(ts|tsx)$/.test(n) && !/\.test\.tsx?$/.test(n) ? [p] : [];
  });
}

describe('message catalogs', () => {
  it('have the same keys in Arabic and English', () => {
    const enBase = new Set([...enKeys.keys()].map(base));
    const arBase = new Set([...arKeys.keys()].map(base));
    expect([...enBase].filter((k) => !arBase.has(k)), 'in English only').toEqual([]);
    expect([...arBase].filter((k) => !enBase.has(k)), 'in Arabic only').toEqual([]);
  });

  it('give plural keys their "other" form in both languages', () => {
    for (const keys of [enKeys, arKeys]) {
      for (const k of keys.keys()) {
        if (plural.test(k)) expect(keys.has(`${base(k)}_other`), k).toBe(true);
      }
    }
  });

  it('have every key the code asks for', () => {
    const root = join(__dirname, '..');
    const known = new Set([...enKeys.keys()].map(base));
    const missing: string[] = [];
    // Literal keys: t('a.b'), and the zod messages (validation keys).
    const literal = /\bt\(\s*'([a-zA-Z0-9_.]+)'|'(fields\.[a-zA-Z0-9]+)'/g;
    for (const file of sources(root)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(literal)) {
        const key = m[1] ?? m[2];
        if (!known.has(key)) missing.push(`${key} (${file.slice(root.length + 1)})`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('translate every Arabic message (it has Arabic letters)', () => {
    // Messages that are the same in every language.
    const universal = new Set(['common.none']);
    const untranslated = [...arKeys].filter(([k, v]) => !universal.has(k) && !/[\u0600-\u06FF]/.test(v)).map(([k]) => k);
    expect(untranslated).toEqual([]);
  });

  it('keep interpolations the same in both languages', () => {
    const vars = (s: string) => [...s.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();
    for (const [k, v] of enKeys) {
      // A plural's singular forms may spell the number out; its "other"
      // form must show it.
      if (plural.test(k) && !k.endsWith('_other')) continue;
      const arV = arKeys.get(k);
      if (arV === undefined) continue;
      expect(vars(arV), k).toEqual(vars(v));
    }
  });
});

describe('text files (API docs, legal pages)', () => {
  const content = join(__dirname, '..', 'content');
  const headings = (p: string) => readFileSync(p, 'utf8').split('\n').filter((l) => /^#{1,3} /.test(l)).length;
  const slots = (p: string) => [...readFileSync(p, 'utf8').matchAll(/\{\{[\w:]+\}\}/g)].map((m) => m[0]).sort();

  it('exist in both languages with the same sections and placeholders', () => {
    const pairs: [string, string][] = [[join(content, 'docs', 'en.md'), join(content, 'docs', 'ar.md')]];
    const legalEn = readdirSync(join(content, 'legal', 'en')).sort();
    expect(readdirSync(join(content, 'legal', 'ar')).sort()).toEqual(legalEn);
    expect(legalEn).toEqual(['contact.md', 'privacy.md', 'refunds.md', 'terms.md']);
    for (const f of legalEn) pairs.push([join(content, 'legal', 'en', f), join(content, 'legal', 'ar', f)]);
    for (const [en, ar] of pairs) {
      expect(headings(ar), ar).toBe(headings(en));
      expect(slots(ar), ar).toEqual(slots(en));
      expect(readFileSync(ar, 'utf8'), ar).toMatch(/[\u0600-\u06FF]/);
    }
  });
});
