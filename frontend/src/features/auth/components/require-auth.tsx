import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Navigate, useLocation } from 'react-router';
import { loginPath, paths } from '@/config/paths';
import { useSession } from '@/lib/auth';
import { PageSkeleton } from '@/components/layouts/page-skeleton';

/** RequireAuth shows its page to a signed-in person; others go to login and come back. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const s = useSession();
  const location = useLocation();
  const { t } = useTranslation();
  if (s.status === 'unknown') return <PageSkeleton label={t('common.loading')} />;
  if (s.status === 'signed-out') {
    // Logged out on purpose (here or in another tab): the login page. A
    // session that expired, or a visit without one: login, then back here.
    if (s.ended === 'logout') return <Navigate to={paths.login} replace />;
    return <Navigate to={loginPath(location.pathname + location.search, s.ended)} replace />;
  }
  return children;
}
