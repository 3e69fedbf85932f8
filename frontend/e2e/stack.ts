// The real stack in embedded mode, as `make run` starts it: portal-api
// (serving the built web app) and the gateway on one SQLite file, the
// development fake Ollama and fake MyFatoorah, each on a free loopback
// port, in a temporary data folder. The binaries come from E2E_BIN
// (scripts/web.sh e2e builds them).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const repoRoot = resolve(import.meta.dirname, '..', '..');

export type Stack = {
  portal: string;
  gateway: string;
  payments: string;
  dataDir: string;
  /** Credits granted by the operator's command, as an operator would. */
  grant(email: string, amount: number): Promise<void>;
  stop(): Promise<void>;
};

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? ok(addr.port) : fail(new Error('no port'))));
    });
  });
}

async function waitReady(url: string, what: string, proc: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${what} exited with ${proc.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} not ready at ${url}`);
}

export async function startStack(logDir: string): Promise<Stack> {
  const bin = process.env.E2E_BIN;
  if (!bin) throw new Error('E2E_BIN is not set: run the browser tests with `make test-e2e` (scripts/web.sh e2e)');
  const dataDir = mkdtempSync(join(tmpdir(), 'resayil-e2e-'));
  const [portalPort, gatewayPort, ollamaPort, mfPort, metricsPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const portal = `http://127.0.0.1:${portalPort}`;
  const gateway = `http://127.0.0.1:${gatewayPort}`;
  const payments = `http://127.0.0.1:${mfPort}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RESAYIL_ENV: 'development',
    RESAYIL_DATA_DIR: dataDir,
    RESAYIL_DB_DSN: '',
    RESAYIL_REDIS_URL: '',
    RESAYIL_PORTAL_ADDR: `127.0.0.1:${portalPort}`,
    RESAYIL_GATEWAY_ADDR: `127.0.0.1:${gatewayPort}`,
    RESAYIL_GATEWAY_METRICS_ADDR: `127.0.0.1:${metricsPort}`,
    RESAYIL_PUBLIC_URL: portal,
    RESAYIL_GATEWAY_PUBLIC_URL: `${gateway}/v1`,
    RESAYIL_OLLAMA_URL: `http://127.0.0.1:${ollamaPort}`,
    RESAYIL_MYFATOORAH_BASE_URL: payments,
    RESAYIL_MYFATOORAH_TOKEN: 'e2e-token',
    RESAYIL_MYFATOORAH_WEBHOOK_SECRET: 'e2e-webhook-secret',
    RESAYIL_STATIC_DIR: join(repoRoot, 'frontend', 'dist'),
    RESAYIL_MODELS_FILE: join(repoRoot, 'config', 'models.yaml'),
    // Fast hashing and room for the journeys' sign-ups; nothing else differs from make run.
    RESAYIL_BCRYPT_COST: '4',
    RESAYIL_REGISTER_LIMIT: '100',
    RESAYIL_LOG_LEVEL: 'warn',
  };
  const procs: ChildProcess[] = [];
  const start = (name: string, args: string[]) => {
    const log = createWriteStream(join(logDir, `${name}.log`));
    const p = spawn(join(bin, name === 'gateway-serve' ? 'gateway' : name === 'portal-serve' ? 'portal-api' : name), args, {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    p.stdout?.pipe(log);
    p.stderr?.pipe(log);
    procs.push(p);
    return p;
  };

  await run(join(bin, 'portal-api'), ['migrate', 'up'], { cwd: repoRoot, env });
  await run(join(bin, 'portal-api'), ['seed'], { cwd: repoRoot, env });
  const { stdout: models } = await run(join(bin, 'gateway'), ['local-models'], { cwd: repoRoot, env });
  const ollama = start('fakeollama', ['-addr', `127.0.0.1:${ollamaPort}`, '-models', models.trim(), '-chunk-delay', '1ms']);
  const mf = start('fakemyfatoorah', [
    '-quiet',
    '-addr',
    `127.0.0.1:${mfPort}`,
    '-token',
    'e2e-token',
    '-webhook-url',
    `${portal}/api/v1/webhooks/myfatoorah`,
    '-webhook-secret',
    'e2e-webhook-secret',
  ]);
  const portalProc = start('portal-serve', ['serve']);
  const gatewayProc = start('gateway-serve', ['serve']);

  const stop = async () => {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((done) => {
            if (p.exitCode !== null || p.signalCode !== null) return done();
            p.once('exit', () => done());
            p.kill('SIGTERM');
            setTimeout(() => p.kill('SIGKILL'), 15_000).unref();
          }),
      ),
    );
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitReady(`http://127.0.0.1:${ollamaPort}/api/version`, 'fake Ollama', ollama);
    await waitReady(`${portal}/readyz`, 'portal-api', portalProc);
    await waitReady(`${gateway}/readyz`, 'gateway', gatewayProc);
    void mf;
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    portal,
    gateway,
    payments,
    dataDir,
    grant: async (email, amount) => {
      await run(join(bin, 'portal-api'), ['credits', 'grant', '--email', email, '--amount', String(amount), '--reason', 'e2e welcome credits'], { cwd: repoRoot, env });
    },
    stop,
  };
}
