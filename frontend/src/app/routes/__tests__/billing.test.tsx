import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { redirect } from '@/features/billing/api/checkout';
import { aBilling, aPayment, plans } from '@/testing/data';
import { renderRoute } from '@/testing/render';
import { server } from '@/testing/server';

afterEach(() => vi.restoreAllMocks());

describe('billing', () => {
  it('subscribes with no plan, and asks before switching a running one', async () => {
    const bodies: unknown[] = [];
    server.use(
      http.post('*/api/v1/billing/checkout', async ({ request }) => {
        bodies.push(await request.json());
        return HttpResponse.json({ payment_id: 5, payment_url: 'https://pay.example/5' }, { status: 201 });
      }),
    );
    const goTo = vi.spyOn(redirect, 'goTo').mockImplementation(() => {});
    const { unmount } = renderRoute('/billing', { signedIn: true });
    const user = userEvent.setup();
    const basic = await screen.findByRole('article', { name: 'Basic' });
    await user.click(within(basic).getByRole('button', { name: 'Subscribe' }));
    await waitFor(() => expect(goTo).toHaveBeenCalledWith('https://pay.example/5'));
    expect(bodies).toEqual([{ kind: 'subscription', plan_id: 1 }]);
    unmount();

    server.use(http.get('*/api/v1/billing', () => HttpResponse.json(aBilling({ status: 'active', plan: plans[0], renewal_date: '2027-01-06' }))));
    renderRoute('/billing', { signedIn: true });
    const running = await screen.findByRole('article', { name: 'Basic' });
    expect(within(running).getByText('Your plan')).toBeInTheDocument();
    const pro = screen.getByRole('article', { name: 'Pro' });
    await user.click(within(pro).getByRole('button', { name: 'Switch to Pro' }));
    const dialog = await screen.findByRole('dialog', { name: 'Switch to Pro?' });
    expect(dialog).toHaveTextContent('without a refund');
    expect(bodies).toHaveLength(1);
    await user.click(within(dialog).getByRole('button', { name: 'Continue to payment' }));
    await waitFor(() => expect(bodies).toHaveLength(2));
    expect(bodies[1]).toEqual({ kind: 'subscription', plan_id: 2 });
  });

  it('lists payments; a pending one can still be paid', async () => {
    server.use(
      http.get('*/api/v1/billing/payments', () =>
        HttpResponse.json({ data: [aPayment({ expires_at: new Date(Date.now() + 3600_000).toISOString() }), aPayment({ id: 2, status: 'paid', payment_url: null })], next_cursor: null }),
      ),
    );
    renderRoute('/billing', { signedIn: true });
    const table = (await screen.findAllByRole('region', { name: 'Payment history' }))[0];
    expect(await within(table).findByText('Waiting for payment')).toBeInTheDocument();
    expect(within(table).getByText('Paid')).toBeInTheDocument();
    expect(within(table).getByRole('link', { name: 'Pay now' })).toHaveAttribute('href', 'https://pay.example/1000001');
    expect(within(table).getAllByText('KWD 2.500')).toHaveLength(2);
  });
});

describe('billing result', () => {
  it('polls a pending payment until it is paid', async () => {
    let asked = 0;
    server.use(
      http.get('*/api/v1/billing/payments/3', () => {
        asked++;
        return HttpResponse.json(asked < 2 ? aPayment() : aPayment({ status: 'paid', paid_at: new Date().toISOString() }));
      }),
    );
    renderRoute('/billing/result?payment=3&status=pending', { signedIn: true });
    expect(await screen.findByText('Confirming your payment…')).toBeInTheDocument();
    expect(await screen.findByText('Payment received', undefined, { timeout: 8000 })).toBeInTheDocument();
    expect(screen.getByText(/5,000 credits were added/)).toBeInTheDocument();
    expect(asked).toBe(2);
  });

  it('trusts the portal, not the address', async () => {
    server.use(http.get('*/api/v1/billing/payments/3', () => HttpResponse.json(aPayment({ status: 'failed', failure_reason: 'Card declined' }))));
    renderRoute('/billing/result?payment=3&status=paid', { signedIn: true });
    expect(await screen.findByText('The payment did not go through')).toBeInTheDocument();
    expect(screen.getByText('Card declined')).toBeInTheDocument();
  });

  it('without a payment id says what to do', async () => {
    renderRoute('/billing/result?status=pending', { signedIn: true });
    expect(await screen.findByText('We could not find this payment')).toBeInTheDocument();
  });
});
