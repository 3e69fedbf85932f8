import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { useLocation, useNavigate } from 'react-router';
import { loginPath, paths } from '@/config/paths';
import { useSession } from '@/lib/auth';
import { isLanguage, rememberLanguage } from '@/lib/i18n';

const protectedPrefixes = [paths.dashboard, paths.billing, paths.settings];

export function isProtectedPath(pathname: string): boolean {
  return protectedPrefixes.some((p) => pathname === p || pathname.startsWith(`${p}/`));
}

/**
 * SessionSync follows the session in the page: the language follows the
 * account's locale; when the session ends (logged out here or in another
 * tab, or renewal failed) the cache is dropped and a protected page goes
 * to login, which brings the person back afterwards.
 */
export function SessionSync() {
  const s = useSession();
  const { i18n } = useTranslation();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const location = useLocation();
  const prev = useRef(s.status);

  const locale = s.user?.locale;
  useEffect(() => {
    if (isLanguage(locale) && locale !== i18n.language) {
      rememberLanguage(locale);
      void i18n.changeLanguage(locale);
    }
  }, [locale, i18n]);

  useEffect(() => {
    const was = prev.current;
    prev.current = s.status;
    if (was !== 'signed-in' || s.status !== 'signed-out') return;
    qc.clear();
    if (!isProtectedPath(location.pathname)) return;
    const here = location.pathname + location.search;
    navigate(s.ended === 'expired' ? loginPath(here, 'expired') : paths.login, { replace: true });
  }, [s.status, s.ended, qc, navigate, location.pathname, location.search]);

  return null;
}
