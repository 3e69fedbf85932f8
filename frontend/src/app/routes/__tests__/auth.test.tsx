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

describe('register', () => {
  async function fill(user: ReturnType<typeof userEvent.setup>) {
    await user.type(await screen.findByLabelText('Full name'), 'Fatima');
    await user.type(screen.getByLabelText('E-mail address'), 'fatima@example.com');
    await user.type(screen.getByLabelText('Mobile number without the country code'), '5555 1234');
    await user.type(screen.getByLabelText('Password'), 'correct-horse-battery');
  }

  it('sends +965 by default, the language, and WhatsApp consent unchecked; then login', async () => {
    let body: Record<string, unknown> = {};
    server.use(
      http.post('*/api/v1/auth/register', async ({ request }) => {
        body = (await request.json()) as Record<string, unknown>;
        return HttpResponse.json({ user: aUser() }, { status: 201 });
      }),
    );
    const { router } = renderRoute('/register');
    const user = userEvent.setup();
    expect(await screen.findByLabelText('Send me WhatsApp messages')).not.toBeChecked();
    expect(screen.getByLabelText('Country code')).toHaveValue('965');
    await fill(user);
    await user.click(screen.getByRole('button', { name: 'Create account' }));
    await waitFor(() => expect(router.state.location.pathname).toBe('/login'));
    expect(body).toEqual({
      name: 'Fatima', email: 'fatima@example.com', phone: '+96555551234', password: 'correct-horse-battery', locale: 'en', whatsapp_opt_in: false,
    });
    expect(await screen.findByText('Your account is ready. Log in to continue.')).toBeInTheDocument();
    expect(screen.getByLabelText('E-mail address')).toHaveValue('fatima@example.com');
  });

  it('puts the portal errors next to their fields', async () => {
    server.use(
      http.post('*/api/v1/auth/register', () =>
        fieldErrors([
          { field: 'password', message: 'This password is too common; choose one that is harder to guess.' },
          { field: 'phone', message: 'Must be a phone number in international format, such as +96512345678.' },
        ]),
      ),
    );
    renderRoute('/register');
    const user = userEvent.setup();
    await fill(user);
    await user.click(screen.getByRole('button', { name: 'Create account' }));
    expect(await screen.findByText('This password is too common; choose one that is harder to guess.')).toBeInTheDocument();
    expect(screen.getByLabelText('Password')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByLabelText('Mobile number without the country code')).toHaveAccessibleDescription(/international format/);
  });

  it('an e-mail that is taken is said on the e-mail field', async () => {
    server.use(
      http.post('*/api/v1/auth/register', () =>
        HttpResponse.json({ error: { code: 'conflict', message: 'An account with this e-mail address already exists.' } }, { status: 409 }),
      ),
    );
    renderRoute('/register', { language: 'ar' });
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText('الاسم الكامل'), 'فاطمة');
    await user.type(screen.getByLabelText('البريد الإلكتروني'), 'fatima@example.com');
    await user.type(screen.getByLabelText('رقم الهاتف دون رمز الدولة'), '55551234');
    await user.type(screen.getByLabelText('كلمة المرور'), 'correct-horse-battery');
    await user.click(screen.getByRole('button', { name: 'إنشاء الحساب' }));
    expect(await screen.findByText('يوجد حساب بهذا البريد الإلكتروني. سجّل الدخول بدلًا من ذلك.')).toBeInTheDocument();
    expect(screen.getByLabelText('البريد الإلكتروني')).toHaveAttribute('aria-invalid', 'true');
  });
});

describe('forgot password', () => {
  it('asks for a WhatsApp code, then sets the new password with it', async () => {
    const calls: unknown[] = [];
    server.use(
      http.post('*/api/v1/auth/password-reset/request', async ({ request }) => {
        calls.push(await request.json());
        return new HttpResponse(null, { status: 202 });
      }),
      http.post('*/api/v1/auth/password-reset/confirm', async ({ request }) => {
        const b = (await request.json()) as { code: string };
        calls.push(b);
        if (b.code !== '123456') return HttpResponse.json({ error: { code: 'invalid', message: 'invalid or expired code' } }, { status: 400 });
        return new HttpResponse(null, { status: 204 });
      }),
    );
    const { router } = renderRoute('/forgot-password');
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText('E-mail address or mobile number'), '+965 5555 1234');
    await user.click(screen.getByRole('button', { name: 'Send the code' }));
    const code = await screen.findByLabelText('Code');
    await user.type(code, '000000');
    await user.type(screen.getByLabelText('New password'), 'purple-monkey-dishwasher');
    await user.click(screen.getByRole('button', { name: 'Set the new password' }));
    expect(await screen.findByText('This code is wrong or has expired. Ask for a new one.')).toBeInTheDocument();
    await user.clear(code);
    await user.type(code, '123456');
    await user.click(screen.getByRole('button', { name: 'Set the new password' }));
    await waitFor(() => expect(router.state.location.pathname).toBe('/login'));
    expect(calls).toEqual([
      { phone: '+96555551234' },
      { phone: '+96555551234', code: '000000', new_password: 'purple-monkey-dishwasher' },
      { phone: '+96555551234', code: '123456', new_password: 'purple-monkey-dishwasher' },
    ]);
    expect(await screen.findByText('Your password has been changed. Log in with the new one.')).toBeInTheDocument();
  });
});
