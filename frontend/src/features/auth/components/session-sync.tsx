import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { paths } from '@/config/paths';
import { useSession } from '@/lib/auth';
import { isLanguage, rememberLanguage, switchLanguage } from '@/lib/i18n';

const protectedPrefixes = [paths.dashboard, paths.billing, paths.settings];

export function isProtectedPath(pathname: string): boolean {
  return protectedPrefixes.some((p) => pathname === p || pathname.startsWith(`${p}/`));
}

/**
 * SessionSync follows the session in the page: the language follows the
 * account's locale, and when the session ends (logged out here or in
 * another tab, or renewal failed) the cache is dropped.
 */
export function SessionSync() {
  const s = useSession();
  const { i18n } = useTranslation();
  const qc = useQueryClient();
  const prev = useRef(s.status);

  const locale = s.user?.locale;
  useEffect(() => {
    if (isLanguage(locale) && locale !== i18n.language) {
      rememberLanguage(locale);
      void switchLanguage(i18n, locale);
    }
  }, [locale, i18n]);

  useEffect(() => {
    const was = prev.current;
    prev.current = s.status;
    // Another person may sign in next: nothing of this one stays cached.
    // (RequireAuth sends a protected page to login.)
    if (was === 'signed-in' && s.status === 'signed-out') qc.clear();
  }, [s.status, qc]);

  return null;
}
