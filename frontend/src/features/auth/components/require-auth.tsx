import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Navigate, useLocation } from 'react-router';
import { loginPath } from '@/config/paths';
import { useSession } from '@/lib/auth';
import { PageSkeleton } from '@/components/layouts/page-skeleton';

/** RequireAuth shows its page to a signed-in person; others go to login and come back. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const s = useSession();
  const location = useLocation();
  const { t } = useTranslation();
  if (s.status === 'unknown') return <PageSkeleton label={t('common.loading')} />;
  if (s.status === 'signed-out') {
    // A session that ended while here is SessionSync's to redirect
    // (with ?reason=expired); this is a visit without one.
    return <Navigate to={loginPath(location.pathname + location.search)} replace />;
  }
  return children;
}
