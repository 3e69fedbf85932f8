import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { redirect } from '@/features/billing/api/checkout';
import { session } from '@/lib/auth';
import { aBilling, aKey, aReceipt, aSummary, aToken, plans } from '@/testing/data';
import { renderRoute } from '@/testing/render';
import { server } from '@/testing/server';

afterEach(() => vi.restoreAllMocks());

describe('dashboard', () => {
  it('shows the credits of the period first, and says what to do when there is nothing yet', async () => {
    server.use(
      http.get('*/api/v1/billing', () =>
        HttpResponse.json(aBilling({ status: 'active', plan: plans[1], effective_plan: plans[1], renewal_date: '2027-01-06', available_credits: 12500, balance_credits: 12500, period_credits: 20000 })),
      ),
    );
    renderRoute('/dashboard', { signedIn: true });
    expect(await screen.findByTestId('credits-available')).toHaveTextContent('12,500');
    expect(screen.getByText('of 20,000 this period')).toBeInTheDocument();
    expect(screen.getByRole('progressbar', { name: 'Credits left this period' })).toHaveAttribute('aria-valuenow', '12500');
    expect(screen.getByText('Pro')).toBeInTheDocument();
    expect(await screen.findByText('No API keys yet')).toBeInTheDocument();
    expect(await screen.findByText('No usage yet')).toBeInTheDocument();
    expect(await screen.findByText('No requests yet')).toBeInTheDocument();
  });

  it('warns at a fifth of the period', async () => {
    server.use(http.get('*/api/v1/billing', () => HttpResponse.json(aBilling({ available_credits: 900, balance_credits: 900, period_credits: 5000 }))));
    renderRoute('/dashboard', { signedIn: true });
    expect(await screen.findByText(/running low on credits/)).toBeInTheDocument();
  });

  it('creates a key and shows it once, then deletes it after a confirmation', async () => {
    const secret = 'sk-3kTMd9RNmGq0QyV7x2WbLcEo8uYhJp5aZfSiD1nKvXw';
    let keys = [] as ReturnType<typeof aKey>[];
    let deleted: string | null = null;
    server.use(
      http.get('*/api/v1/api-keys', () => HttpResponse.json({ data: keys })),
      http.post('*/api/v1/api-keys', async ({ request }) => {
        const { name } = (await request.json()) as { name: string };
        keys = [aKey({ id: 42, name })];
        return HttpResponse.json({ id: 42, name, key: secret, prefix: 'sk-3kTMd9RNm', created_at: new Date().toISOString() }, { status: 201 });
      }),
      http.delete('*/api/v1/api-keys/:id', ({ params }) => {
        deleted = String(params.id);
        keys = keys.map((k) => ({ ...k, revoked_at: new Date().toISOString() }));
        return new HttpResponse(null, { status: 204 });
      }),
    );
    renderRoute('/dashboard', { signedIn: true });
    const user = userEvent.setup();
    await user.click((await screen.findAllByRole('button', { name: 'Create key' }))[0]);
    const createDialog = await screen.findByRole('dialog', { name: 'Create an API key' });
    await user.type(within(createDialog).getByLabelText('Name'), 'laptop');
    await user.click(within(createDialog).getByRole('button', { name: 'Create key' }));

    const shown = await screen.findByRole('dialog', { name: 'Key "laptop" created' });
    expect(within(shown).getByTestId('new-api-key')).toHaveValue(secret);
    expect(within(shown).getByText(/shown only this once/)).toBeInTheDocument();
    await user.click(within(shown).getByRole('button', { name: 'I have copied it' }));
    await waitFor(() => expect(screen.queryByDisplayValue(secret)).not.toBeInTheDocument());
    // Listed by name and prefix only, never again in full.
    const table = (await screen.findAllByRole('region', { name: 'API keys' }))[0];
    expect(within(table).getByText('laptop')).toBeInTheDocument();
    expect(document.body.textContent).not.toContain(secret);

    await user.click(within(table).getByRole('button', { name: 'Delete key laptop' }));
    const confirm = await screen.findByRole('dialog', { name: 'Delete the key "laptop"?' });
    expect(deleted).toBeNull();
    await user.click(within(confirm).getByRole('button', { name: 'Delete key' }));
    await waitFor(() => expect(deleted).toBe('42'));
    expect(await screen.findByText('No API keys yet')).toBeInTheDocument();
  });

  it('shows a key error from the portal in the dialog', async () => {
    server.use(
      http.post('*/api/v1/api-keys', () =>
        HttpResponse.json({ error: { code: 'conflict', message: 'You already have 20 active API keys.' } }, { status: 409 }),
      ),
    );
    renderRoute('/dashboard', { signedIn: true });
    const user = userEvent.setup();
    await user.click((await screen.findAllByRole('button', { name: 'Create key' }))[0]);
    const dialog = await screen.findByRole('dialog', { name: 'Create an API key' });
    await user.type(within(dialog).getByLabelText('Name'), 'one more');
    await user.click(within(dialog).getByRole('button', { name: 'Create key' }));
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('You already have 20 active keys');
  });

  it('shows usage totals, the per-model table and the receipts, and pages them', async () => {
    server.use(
      http.get('*/api/v1/usage/summary', () => HttpResponse.json(aSummary(24, 'hour', { requests: 2, local_requests: 2, credits: 3, local_credits: 3, prompt_tokens: 10, completion_tokens: 20 }))),
      http.get('*/api/v1/usage/models', () =>
        HttpResponse.json({ from: 'x', to: 'y', totals: aSummary(1, 'day').totals, data: [{ model: 'llama3.2:3b', requests: 48, prompt_tokens: 240, completion_tokens: 480, credits: 72, local_requests: 48, cloud_requests: 0, local_credits: 72, cloud_credits: 0, errors: 0 }] }),
      ),
      http.get('*/api/v1/usage/requests', ({ request }) => {
        const cursor = new URL(request.url).searchParams.get('cursor');
        return cursor
          ? HttpResponse.json({ data: [aReceipt({ billing_id: 'older', model: 'qwen2.5:72b', backend: 'cloud' })], next_cursor: null })
          : HttpResponse.json({ data: [aReceipt({ billing_id: 'newer', held_credits: 7, charged_credits: 2 })], next_cursor: 'c1' });
      }),
    );
    renderRoute('/dashboard', { signedIn: true });
    const totals = await screen.findByTestId('usage-totals');
    expect(within(totals).getByText('48')).toBeInTheDocument();
    expect(within(totals).getByText('720')).toBeInTheDocument();
    const perModel = (await screen.findAllByRole('region', { name: 'Usage by model' }))[0];
    expect(within(perModel).getByText('llama3.2:3b')).toBeInTheDocument();
    const receipts = (await screen.findAllByRole('region', { name: 'Requests' }))[0];
    expect(within(receipts).getAllByRole('row')).toHaveLength(2);
    expect(within(receipts).getByText('7')).toBeInTheDocument();
    const user = userEvent.setup();
    await user.click(screen.getByRole('button', { name: 'Load more' }));
    await waitFor(() => expect(within(receipts).getAllByRole('row')).toHaveLength(3));
    expect(within(receipts).getByText('qwen2.5:72b')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Load more' })).not.toBeInTheDocument();
  });

  it('exports the range as CSV', async () => {
    let query: URLSearchParams | null = null;
    server.use(
      http.get('*/api/v1/usage/requests.csv', ({ request }) => {
        query = new URL(request.url).searchParams;
        return new HttpResponse('time,billing_id\n', { headers: { 'Content-Type': 'text/csv', 'Content-Disposition': 'attachment; filename="usage-x.csv"' } });
      }),
    );
    const created = vi.fn(() => 'blob:x');
    URL.createObjectURL = created;
    URL.revokeObjectURL = () => {};
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => {});
    renderRoute('/dashboard', { signedIn: true });
    const user = userEvent.setup();
    await user.click(await screen.findByRole('radio', { name: '7 days' }));
    await user.click(screen.getByRole('button', { name: 'Export CSV (7 days)' }));
    await waitFor(() => expect(click).toHaveBeenCalled());
    expect(query!.get('from')).toMatch(/T21:00:00\.000Z$/);
    expect(created).toHaveBeenCalledTimes(1);
    expect((click.mock.instances[0] as unknown as HTMLAnchorElement).download).toBe('usage-x.csv');
  });

  it('quick top-up: a pack, then MyFatoorah', async () => {
    let body: unknown;
    server.use(
      http.post('*/api/v1/billing/checkout', async ({ request }) => {
        body = await request.json();
        return HttpResponse.json({ payment_id: 17, payment_url: 'https://pay.example/17' }, { status: 201 });
      }),
    );
    const goTo = vi.spyOn(redirect, 'goTo').mockImplementation(() => {});
    renderRoute('/dashboard', { signedIn: true });
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Top up' }));
    const dialog = await screen.findByRole('dialog', { name: 'Top up your credits' });
    await user.click(await within(dialog).findByRole('radio', { name: /15,000 credits/ }));
    await user.click(within(dialog).getByRole('button', { name: 'Continue to payment' }));
    await waitFor(() => expect(goTo).toHaveBeenCalledWith('https://pay.example/17'));
    expect(body).toEqual({ kind: 'topup', pack_id: 2 });
  });

  it('says so when the payment provider is down', async () => {
    server.use(
      http.post('*/api/v1/billing/checkout', () =>
        HttpResponse.json({ error: { code: 'unavailable', message: 'The payment provider cannot be reached.' } }, { status: 502 }),
      ),
    );
    const goTo = vi.spyOn(redirect, 'goTo').mockImplementation(() => {});
    renderRoute('/dashboard', { signedIn: true });
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Top up' }));
    const dialog = await screen.findByRole('dialog', { name: 'Top up your credits' });
    await user.click(await within(dialog).findByRole('button', { name: 'Continue to payment' }));
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('temporarily unavailable');
    expect(goTo).not.toHaveBeenCalled();
  });

  it('an expired session goes to login, which brings the person back', async () => {
    server.use(
      http.get('*/api/v1/billing', () => HttpResponse.json({ error: { code: 'unauthorized', message: 'x' } }, { status: 401 })),
      http.post('*/api/v1/auth/login', () => HttpResponse.json(aToken())),
    );
    const { router } = renderRoute('/dashboard', { signedIn: true });
    await waitFor(() => expect(router.state.location.pathname).toBe('/login'));
    expect(new URLSearchParams(router.state.location.search).get('next')).toBe('/dashboard');
    expect(await screen.findByText(/Your session has ended. Log in again to continue/)).toBeInTheDocument();
    expect(session.token).toBeNull();

    server.use(http.get('*/api/v1/billing', () => HttpResponse.json(aBilling())));
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('E-mail address'), 'fatima@example.com');
    await user.type(screen.getByLabelText('Password'), 'correct-horse-battery');
    await user.click(screen.getByRole('button', { name: 'Log in' }));
    await waitFor(() => expect(router.state.location.pathname).toBe('/dashboard'));
  });

  it('the portal down: a clear message, nothing crashes, still signed in', async () => {
    server.use(http.get('*/api/v1/billing', () => HttpResponse.error()));
    renderRoute('/dashboard', { signedIn: true });
    expect(await screen.findByText(/The portal cannot be reached/)).toBeInTheDocument();
    expect(screen.getByRole('heading', { name: 'Dashboard' })).toBeInTheDocument();
    expect(session.getState().status).toBe('signed-in');
  });

  it('a 5xx: the request id to quote', async () => {
    server.use(
      http.get('*/api/v1/api-keys', () =>
        HttpResponse.json({ error: { code: 'internal', message: 'x' } }, { status: 500, headers: { 'X-Request-Id': 'abc123' } }),
      ),
    );
    renderRoute('/dashboard', { signedIn: true });
    expect(await screen.findByText(/quote request abc123/)).toBeInTheDocument();
  });
});
