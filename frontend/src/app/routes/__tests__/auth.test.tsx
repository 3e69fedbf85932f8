import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { session } from '@/lib/auth';
import { aToken, aUser } from '@/testing/data';
import { renderRoute } from '@/testing/render';
import { fieldErrors, server } from '@/testing/server';

describe('login', () => {
  it('logs in with remember me and returns where the person was going', async () => {
    let body: unknown;
    server.use(
      http.post('*/api/v1/auth/login', async ({ request }) => {
        body = await request.json();
        return HttpResponse.json(aToken(aUser({ name: 'Fatima' })));
      }),
    );
    const { router } = renderRoute('/login?next=%2Fsettings');
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText('E-mail address'), 'fatima@example.com');
    await user.type(screen.getByLabelText('Password'), 'correct-horse-battery');
    await user.click(screen.getByLabelText('Remember me for 30 days'));
    await user.click(screen.getByRole('button', { name: 'Log in' }));
    await waitFor(() => expect(router.state.location.pathname).toBe('/settings'));
    expect(body).toEqual({ email: 'fatima@example.com', password: 'correct-horse-battery', remember_me: true });
    expect(session.getState().status).toBe('signed-in');
    // The token lives in memory only.
    const token = session.token!;
    expect(token).toMatch(/^access-/);
    for (const store of [localStorage, sessionStorage]) {
      for (let i = 0; i < store.length; i++) expect(store.getItem(store.key(i)!)).not.toContain(token);
    }
  });

  it('says the password is wrong, and shows the portal field errors next to their fields', async () => {
    server.use(
      http.post('*/api/v1/auth/login', () => HttpResponse.json({ error: { code: 'unauthorized', message: 'no' } }, { status: 401 })),
    );
    renderRoute('/login');
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText('E-mail address'), 'fatima@example.com');
    await user.type(screen.getByLabelText('Password'), 'wrong');
    await user.click(screen.getByRole('button', { name: 'Log in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('The e-mail address or password is incorrect.');

    server.use(
      http.post('*/api/v1/auth/login', () =>
        fieldErrors([{ field: 'email', message: 'Must contain only ASCII letters, digits and symbols; internationalised addresses are not accepted.' }]),
      ),
    );
    await user.click(screen.getByRole('button', { name: 'Log in' }));
    const email = screen.getByLabelText('E-mail address');
    await waitFor(() => expect(email).toHaveAttribute('aria-invalid', 'true'));
    expect(email).toHaveAccessibleDescription('Use an address of Latin letters, digits and symbols only.');
  });

  it('checks the fields before asking the portal', async () => {
    let called = false;
    server.use(
      http.post('*/api/v1/auth/login', () => {
        called = true;
        return HttpResponse.json(aToken());
      }),
    );
    renderRoute('/login');
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Log in' }));
    expect(await screen.findAllByText('This field is required.')).toHaveLength(2);
    expect(called).toBe(false);
  });

  it('a protected page sends a signed-out visitor to login with the way back', async () => {
    server.use(http.post('*/api/v1/auth/login', () => HttpResponse.json(aToken())));
    const { router } = renderRoute('/settings');
    await waitFor(() => expect(router.state.location.pathname).toBe('/login'));
    expect(router.state.location.search).toBe('?next=%2Fsettings');
  });

  it('speaks Arabic, right to left', async () => {
    renderRoute('/login', { language: 'ar' });
    expect(await screen.findByRole('heading', { name: 'تسجيل الدخول' })).toBeInTheDocument();
    expect(document.documentElement).toHaveAttribute('dir', 'rtl');
    expect(document.documentElement).toHaveAttribute('lang', 'ar');
  });
});
