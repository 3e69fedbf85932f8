import { useTranslation } from 'react-i18next';
import { paths } from '@/config/paths';
import { useSession } from '@/lib/auth';
import { useTitle } from '@/lib/use-title';
import { ButtonLink } from '@/components/ui/button';

export function NotFoundRoute() {
  const { t } = useTranslation();
  useTitle(t('notFound.title'));
  const s = useSession();
  return (
    <div className="mx-auto max-w-lg px-4 py-24 text-center">
      <p className="tabular text-5xl font-bold text-brand-700">404</p>
      <h1 className="mt-4 text-2xl font-bold">{t('notFound.title')}</h1>
      <p className="mt-2 text-slate-600">{t('notFound.body')}</p>
      <div className="mt-8 flex justify-center gap-3">
        <ButtonLink to={s.status === 'signed-in' ? paths.dashboard : paths.home}>
          {s.status === 'signed-in' ? t('notFound.dashboard') : t('notFound.home')}
        </ButtonLink>
      </div>
    </div>
  );
}
