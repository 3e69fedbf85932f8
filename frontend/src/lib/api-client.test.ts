import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { aToken } from '@/testing/data';
import { server } from '@/testing/server';
import { ApiError, createApiClient } from './api-client';
import { localLocks, Session } from './session';

function setup() {
  const session = new Session({ locks: localLocks(), channel: null });
  return { session, api: createApiClient(session) };
}

/** A protected route that accepts only `valid` as the bearer token. */
function protectedRoute(valid: () => string, seen: string[]) {
  return http.get('*/api/v1/me', ({ request }) => {
    const auth = request.headers.get('Authorization') ?? '';
    seen.push(auth);
    if (auth !== `Bearer ${valid()}`) {
      return HttpResponse.json({ error: { code: 'unauthorized', message: 'Your session has ended.' } }, { status: 401 });
    }
    return HttpResponse.json({ ok: true });
  });
}

describe('api client', () => {
  it('renews once on a 401 and retries with the new token', async () => {
    const { session, api } = setup();
    session.signIn(aToken());
    const fresh = aToken();
    let refreshes = 0;
    const seen: string[] = [];
    server.use(
      protectedRoute(() => fresh.access_token, seen),
      http.post('*/api/v1/auth/refresh', () => {
        refreshes++;
        return HttpResponse.json(fresh);
      }),
    );
    await expect(api.get('/api/v1/me')).resolves.toEqual({ ok: true });
    expect(refreshes).toBe(1);
    expect(seen).toHaveLength(2);
    expect(seen[1]).toBe(`Bearer ${fresh.access_token}`);
    expect(session.token).toBe(fresh.access_token);
  });

  it('concurrent 401s share one renewal', async () => {
    const { session, api } = setup();
    session.signIn(aToken());
    const fresh = aToken();
    let refreshes = 0;
    server.use(
      protectedRoute(() => fresh.access_token, []),
      http.post('*/api/v1/auth/refresh', async () => {
        refreshes++;
        await new Promise((r) => setTimeout(r, 20));
        return HttpResponse.json(fresh);
      }),
    );
    await Promise.all([api.get('/api/v1/me'), api.get('/api/v1/me'), api.get('/api/v1/me')]);
    expect(refreshes).toBe(1);
  });

  it('a failed renewal ends the session and says so', async () => {
    const { session, api } = setup();
    session.signIn(aToken());
    server.use(protectedRoute(() => 'never', []));
    const err = await api.get('/api/v1/me').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 401, code: 'session_expired' });
    expect(session.getState()).toMatchObject({ status: 'signed-out', ended: 'expired' });
    expect(session.token).toBeNull();
  });

  it('renews at most once: a second 401 ends the session', async () => {
    const { session, api } = setup();
    session.signIn(aToken());
    let refreshes = 0;
    server.use(
      protectedRoute(() => 'never', []),
      http.post('*/api/v1/auth/refresh', () => {
        refreshes++;
        return HttpResponse.json(aToken());
      }),
    );
    await expect(api.get('/api/v1/me')).rejects.toMatchObject({ code: 'session_expired' });
    expect(refreshes).toBe(1);
    expect(session.getState().status).toBe('signed-out');
  });

  it('maps the portal error shape with its fields, Retry-After and request id', async () => {
    const { api } = setup();
    server.use(
      http.post('*/api/v1/auth/register', () =>
        HttpResponse.json(
          { error: { code: 'invalid', message: 'The request is invalid.', fields: [{ field: 'phone', message: 'Must be a phone number.' }] } },
          { status: 400, headers: { 'X-Request-Id': 'req-1' } },
        ),
      ),
      http.post('*/api/v1/auth/login', () =>
        HttpResponse.json({ error: { code: 'rate_limited', message: 'Too many.' } }, { status: 429, headers: { 'Retry-After': '42' } }),
      ),
    );
    const invalid = (await api.post('/api/v1/auth/register', {}, { auth: false }).catch((e: unknown) => e)) as ApiError;
    expect(invalid).toMatchObject({ status: 400, code: 'invalid', requestId: 'req-1' });
    expect(invalid.field('phone')).toBe('Must be a phone number.');
    expect(invalid.field('email')).toBeUndefined();
    const limited = (await api.post('/api/v1/auth/login', {}, { auth: false }).catch((e: unknown) => e)) as ApiError;
    expect(limited).toMatchObject({ status: 429, code: 'rate_limited', retryAfter: 42 });
  });

  it('a 402, a 5xx without the error shape, and a portal that is down', async () => {
    const { session, api } = setup();
    session.signIn(aToken());
    server.use(
      http.post('*/api/v1/billing/checkout', () =>
        HttpResponse.json({ error: { code: 'insufficient_credits', message: 'Top up.' } }, { status: 402 }),
      ),
      http.get('*/api/v1/billing', () => new HttpResponse('<html>Bad gateway</html>', { status: 502 })),
      http.get('*/api/v1/api-keys', () => HttpResponse.error()),
    );
    await expect(api.post('/api/v1/billing/checkout', { kind: 'topup' })).rejects.toMatchObject({ status: 402, code: 'insufficient_credits' });
    await expect(api.get('/api/v1/billing')).rejects.toMatchObject({ status: 502, code: 'internal' });
    await expect(api.get('/api/v1/api-keys')).rejects.toMatchObject({ status: 0, code: 'network' });
    // None of these ends the session.
    expect(session.getState().status).toBe('signed-in');
  });

  it('a public route sends no token, and a 401 there renews nothing', async () => {
    const { session, api } = setup();
    session.signIn(aToken());
    let auth: string | null = 'unset';
    let refreshes = 0;
    server.use(
      http.post('*/api/v1/auth/login', ({ request }) => {
        auth = request.headers.get('Authorization');
        return HttpResponse.json({ error: { code: 'unauthorized', message: 'Wrong password.' } }, { status: 401 });
      }),
      http.post('*/api/v1/auth/refresh', () => {
        refreshes++;
        return HttpResponse.json(aToken());
      }),
    );
    await expect(api.post('/api/v1/auth/login', { email: 'a', password: 'b' }, { auth: false })).rejects.toMatchObject({ code: 'unauthorized' });
    expect(auth).toBeNull();
    expect(refreshes).toBe(0);
  });

  it('sends JSON with its content type and reads 204 as nothing', async () => {
    const { session, api } = setup();
    session.signIn(aToken());
    let ct: string | null = null;
    let body: unknown = null;
    server.use(
      http.post('*/api/v1/api-keys', async ({ request }) => {
        ct = request.headers.get('Content-Type');
        body = await request.json();
        return HttpResponse.json({ id: 1 }, { status: 201 });
      }),
      http.delete('*/api/v1/api-keys/1', () => new HttpResponse(null, { status: 204 })),
    );
    await expect(api.post('/api/v1/api-keys', { name: 'k' })).resolves.toEqual({ id: 1 });
    expect(ct).toBe('application/json');
    expect(body).toEqual({ name: 'k' });
    await expect(api.del('/api/v1/api-keys/1')).resolves.toBeUndefined();
  });
});
