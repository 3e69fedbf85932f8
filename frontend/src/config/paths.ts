// Every path of the app, in one place.
export const paths = {
  home: '/',
  docs: '/docs',
  login: '/login',
  register: '/register',
  forgotPassword: '/forgot-password',
  dashboard: '/dashboard',
  billing: '/billing',
  billingResult: '/billing/result',
  settings: '/settings',
  terms: '/terms',
  privacy: '/privacy',
  refunds: '/refunds',
  contact: '/contact',
} as const;

/** The login page that returns to `next` afterwards. */
export function loginPath(next?: string, reason?: 'expired'): string {
  const q = new URLSearchParams();
  if (next && next !== paths.login) q.set('next', next);
  if (reason) q.set('reason', reason);
  const s = q.toString();
  return s ? `${paths.login}?${s}` : paths.login;
}

/** safeNext keeps a post-login target on this site (no //evil.example). */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return paths.dashboard;
  return next;
}
