// The layout's import rules (as bulletproof-react lints them): a feature
// never imports another feature; shared code (components, lib, config,
// types) never imports a feature or the app; only app/ composes features.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = __dirname;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return n === 'testing' ? [] : files(p);
    return /\.(ts|tsx)$/.test(n) && !/\.test\.tsx?$/.test(n) ? [p] : [];
  });
}

/** Where an import points, as a path under src/ (null for packages). */
function target(from: string, spec: string): string | null {
  if (spec.startsWith('@/')) return spec.slice(2);
  if (spec.startsWith('.')) return relative(src, resolve(dirname(from), spec));
  return null;
}

const area = (p: string) => p.split('/')[0];
const feature = (p: string) => (p.startsWith('features/') ? p.split('/')[1] : null);

describe('import boundaries', () => {
  it('hold for every source file', () => {
    const broken: string[] = [];
    for (const file of files(src)) {
      const from = relative(src, file);
      for (const m of readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)) {
        const to = target(file, m[1]);
        if (!to) continue;
        if (feature(from) && feature(to) && feature(from) !== feature(to)) broken.push(`${from} imports another feature: ${m[1]}`);
        if (['components', 'lib', 'config', 'types', 'locales'].includes(area(from)) && ['features', 'app'].includes(area(to)))
          broken.push(`${from} (shared) imports ${m[1]}`);
        if (feature(from) && area(to) === 'app') broken.push(`${from} imports the app: ${m[1]}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
