import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { session } from '@/lib/auth';
import { aToken, aUser } from '@/testing/data';
import { renderRoute } from '@/testing/render';
import { fieldErrors, server } from '@/testing/server';

describe('settings', () => {
  it('saves the profile with the WhatsApp consent, and the language follows the account', async () => {
    let body: Record<string, unknown> = {};
    server.use(
      http.get('*/api/v1/me', () => HttpResponse.json({ user: aUser() })),
      http.patch('*/api/v1/me', async ({ request }) => {
        body = (await request.json()) as Record<string, unknown>;
        return HttpResponse.json({ user: aUser({ ...(body as object), locale: body.locale as 'ar' | 'en' }) });
      }),
    );
    renderRoute('/settings', { signedIn: aToken(aUser()) });
    const user = userEvent.setup();
    const consent = await screen.findByLabelText('Send me WhatsApp messages');
    expect(consent).not.toBeChecked();
    await user.click(consent);
    await user.selectOptions(screen.getByLabelText('Language'), 'ar');
    await user.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(body).toEqual({ name: 'Fatima', phone: '+96512345678', locale: 'ar', whatsapp_opt_in: true }));
    await waitFor(() => expect(document.documentElement.dir).toBe('rtl'));
    expect(await screen.findByRole('heading', { name: 'الإعدادات' })).toBeInTheDocument();
    expect(session.getState().user?.locale).toBe('ar');
  });

  it('shows the portal password errors on their fields', async () => {
    server.use(
      http.get('*/api/v1/me', () => HttpResponse.json({ user: aUser() })),
      http.post('*/api/v1/me/password', () => fieldErrors([{ field: 'current_password', message: 'The current password is incorrect.' }])),
    );
    renderRoute('/settings', { signedIn: true });
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText('Current password'), 'nope');
    await user.type(screen.getByLabelText('New password'), 'purple-monkey-dishwasher');
    await user.click(screen.getByRole('button', { name: 'Change password' }));
    expect(await screen.findByText('The current password is incorrect.')).toBeInTheDocument();
    expect(screen.getByLabelText('Current password')).toHaveAttribute('aria-invalid', 'true');
  });

  it('logs out everywhere after a confirmation, and lands on login', async () => {
    let called = 0;
    server.use(
      http.get('*/api/v1/me', () => HttpResponse.json({ user: aUser() })),
      http.post('*/api/v1/auth/logout-all', () => {
        called++;
        return new HttpResponse(null, { status: 204 });
      }),
    );
    const { router } = renderRoute('/settings', { signedIn: true });
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Log out everywhere' }));
    const dialog = await screen.findByRole('dialog', { name: 'Log out everywhere?' });
    expect(called).toBe(0);
    await user.click(within(dialog).getByRole('button', { name: 'Log out everywhere' }));
    await waitFor(() => expect(router.state.location.pathname).toBe('/login'));
    expect(called).toBe(1);
    expect(session.getState()).toMatchObject({ status: 'signed-out', ended: 'logout' });
  });

  it('the header log out ends the session', async () => {
    let loggedOut = false;
    server.use(
      http.post('*/api/v1/auth/logout', () => {
        loggedOut = true;
        return new HttpResponse(null, { status: 204 });
      }),
    );
    const { router } = renderRoute('/dashboard', { signedIn: true });
    const user = userEvent.setup();
    await user.click((await screen.findAllByRole('button', { name: 'Log out' }))[0]);
    await waitFor(() => expect(router.state.location.pathname).toBe('/login'));
    expect(loggedOut).toBe(true);
    expect(session.token).toBeNull();
  });
});

describe('docs and legal pages', () => {
  it('the API docs show the real gateway URL, the errors and the plans', async () => {
    renderRoute('/docs');
    expect(await screen.findByRole('heading', { name: 'API documentation' })).toBeInTheDocument();
    await waitFor(() => expect(screen.getAllByText('https://gw.example/v1').length).toBeGreaterThan(0));
    expect(screen.getByText('insufficient_quota')).toBeInTheDocument();
    expect(screen.getAllByText('x-ratelimit-remaining-requests').length).toBeGreaterThan(0);
    expect((await screen.findAllByRole('region', { name: 'Limits per plan' }))[0]).toHaveTextContent('KWD 50.000');
  });

  it('legal pages in both languages, linked from the footer', async () => {
    renderRoute('/refunds');
    expect(await screen.findByRole('heading', { level: 1, name: 'Refund policy' })).toBeInTheDocument();
    const footer = screen.getByRole('navigation', { name: 'Legal and help' });
    for (const name of ['Terms of service', 'Privacy policy', 'Refund policy', 'Contact us']) {
      expect(within(footer).getByRole('link', { name })).toBeInTheDocument();
    }
  });

  it('the Arabic privacy policy', async () => {
    renderRoute('/privacy', { language: 'ar' });
    expect(await screen.findByRole('heading', { level: 1, name: 'سياسة الخصوصية' })).toBeInTheDocument();
  });
});
