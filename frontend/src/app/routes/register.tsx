import { useTranslation } from 'react-i18next';
import { Link, Navigate, useNavigate } from 'react-router';
import { paths } from '@/config/paths';
import { AuthCard } from '@/features/auth/components/auth-card';
import { RegisterForm } from '@/features/auth/components/register-form';
import { useSession } from '@/lib/auth';
import { useTitle } from '@/lib/use-title';

export function RegisterRoute() {
  const { t } = useTranslation();
  useTitle(t('register.title'));
  const navigate = useNavigate();
  const s = useSession();
  if (s.status === 'signed-in') return <Navigate to={paths.dashboard} replace />;
  return (
    <AuthCard
      title={t('register.title')}
      intro={t('register.intro')}
      footer={
        <>
          {t('register.haveAccount')}{' '}
          <Link to={paths.login} className="font-medium text-brand-700 hover:underline">
            {t('register.loginLink')}
          </Link>
        </>
      }
    >
      <RegisterForm onDone={(email) => navigate(`${paths.login}?registered=1&email=${encodeURIComponent(email)}`)} />
    </AuthCard>
  );
}
