// Fails when src/types/api.gen.ts is not what openapi-typescript makes
// from portal-api's openapi.yaml today: run `npm run gen` and commit.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const committed = join(root, 'src/types/api.gen.ts');
const dir = mkdtempSync(join(tmpdir(), 'resayil-gen-'));
try {
  const fresh = join(dir, 'api.gen.ts');
  execFileSync(
    join(root, 'node_modules/.bin/openapi-typescript'),
    [join(root, '../portal-api/internal/api/openapi.yaml'), '-o', fresh],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (readFileSync(fresh, 'utf8') !== readFileSync(committed, 'utf8')) {
    console.error(
      'src/types/api.gen.ts is stale: portal-api/internal/api/openapi.yaml changed. Run `npm run gen` in frontend/ and commit the result.',
    );
    process.exit(1);
  }
  console.log('src/types/api.gen.ts matches openapi.yaml');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
