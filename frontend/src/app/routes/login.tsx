import { useTranslation } from 'react-i18next';
import { Link, Navigate, useNavigate, useSearchParams } from 'react-router';
import { paths, safeNext } from '@/config/paths';
import { AuthCard } from '@/features/auth/components/auth-card';
import { LoginForm } from '@/features/auth/components/login-form';
import { useSession } from '@/lib/auth';
import { useTitle } from '@/lib/use-title';
import { Alert } from '@/components/ui/alert';

export function LoginRoute() {
  const { t } = useTranslation();
  useTitle(t('login.title'));
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const s = useSession();
  const next = safeNext(params.get('next'));
  if (s.status === 'signed-in') return <Navigate to={next} replace />;
  const notice =
    params.get('reason') === 'expired'
      ? { tone: 'warning' as const, text: t('login.expired') }
      : params.get('registered')
        ? { tone: 'success' as const, text: t('login.registered') }
        : params.get('reset')
          ? { tone: 'success' as const, text: t('login.resetDone') }
          : null;
  return (
    <AuthCard
      title={t('login.title')}
      footer={
        <>
          {t('login.noAccount')}{' '}
          <Link to={paths.register} className="font-medium text-brand-700 hover:underline">
            {t('login.registerLink')}
          </Link>
        </>
      }
    >
      {notice && (
        <Alert tone={notice.tone} className="mb-4">
          {notice.text}
        </Alert>
      )}
      <LoginForm defaultEmail={params.get('email') ?? ''} onDone={() => navigate(next, { replace: true })} />
    </AuthCard>
  );
}
