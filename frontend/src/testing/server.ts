// The portal API as MSW handlers, for route-level tests. Tests replace a
// handler with server.use(...) to make the portal fail or answer otherwise.
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { aBilling, aSummary, models, packs, plans } from './data';

export const handlers = [
  http.get('*/api/v1/config', () => HttpResponse.json({ gateway_url: 'https://gw.example/v1', languages: ['en', 'ar'], currency: 'KWD' })),
  http.get('*/api/v1/models', () => HttpResponse.json(models)),
  http.get('*/api/v1/plans', () => HttpResponse.json({ data: plans })),
  http.get('*/api/v1/topup-packs', () => HttpResponse.json({ data: packs })),
  http.post('*/api/v1/auth/refresh', () =>
    HttpResponse.json({ error: { code: 'unauthorized', message: 'Your session has ended or the access token is invalid. Log in again.' } }, { status: 401 }),
  ),
  http.post('*/api/v1/auth/logout', () => new HttpResponse(null, { status: 204 })),
  http.get('*/api/v1/billing', () => HttpResponse.json(aBilling())),
  http.get('*/api/v1/billing/payments', () => HttpResponse.json({ data: [], next_cursor: null })),
  http.get('*/api/v1/api-keys', () => HttpResponse.json({ data: [] })),
  http.get('*/api/v1/usage/summary', ({ request }) => {
    const g = new URL(request.url).searchParams.get('granularity') === 'hour' ? 'hour' : 'day';
    return HttpResponse.json(aSummary(g === 'hour' ? 24 : 7, g));
  }),
  http.get('*/api/v1/usage/models', () => HttpResponse.json({ from: '2026-12-01T00:00:00Z', to: '2026-12-07T00:00:00Z', data: [], totals: aSummary(1, 'day').totals })),
  http.get('*/api/v1/usage/requests', () => HttpResponse.json({ data: [], next_cursor: null })),
];

export const server = setupServer(...handlers);

/** fieldErrors is the portal's 400 with per-field messages. */
export function fieldErrors(fields: { field: string; message: string }[]) {
  return HttpResponse.json({ error: { code: 'invalid', message: 'The request is invalid.', fields } }, { status: 400 });
}
