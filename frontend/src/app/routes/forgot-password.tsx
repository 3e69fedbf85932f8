import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import { paths } from '@/config/paths';
import { AuthCard } from '@/features/auth/components/auth-card';
import { ForgotPasswordForm } from '@/features/auth/components/forgot-password-form';
import { useTitle } from '@/lib/use-title';

export function ForgotPasswordRoute() {
  const { t } = useTranslation();
  useTitle(t('forgot.title'));
  const navigate = useNavigate();
  return (
    <AuthCard
      title={t('forgot.title')}
      intro={t('forgot.intro')}
      footer={
        <Link to={paths.login} className="font-medium text-brand-700 hover:underline">
          {t('forgot.back')}
        </Link>
      }
    >
      <ForgotPasswordForm onDone={() => navigate(`${paths.login}?reset=1`)} />
    </AuthCard>
  );
}
