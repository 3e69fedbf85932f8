import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useMe } from '@/features/auth/api/get-me';
import { useLogoutAll } from '@/features/auth/api/logout-all';
import { PasswordForm } from '@/features/auth/components/password-form';
import { ProfileForm } from '@/features/auth/components/profile-form';
import { useSession } from '@/lib/auth';
import { describeError } from '@/lib/errors';
import { useTitle } from '@/lib/use-title';
import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Card, CardHeader } from '@/components/ui/card';
import { Dialog } from '@/components/ui/dialog';
import { SkeletonRows } from '@/components/ui/skeleton';

function LogoutEverywhere() {
  const { t, i18n } = useTranslation();
  const [open, setOpen] = useState(false);
  const logoutAll = useLogoutAll();
  return (
    <>
      <Button variant="danger" onClick={() => setOpen(true)}>
        {t('settings.logoutAll')}
      </Button>
      <Dialog
        open={open}
        onClose={() => setOpen(false)}
        title={t('settings.logoutAllTitle')}
        footer={
          <>
            <Button variant="secondary" onClick={() => setOpen(false)}>
              {t('common.cancel')}
            </Button>
            <Button variant="danger" loading={logoutAll.isPending} onClick={() => logoutAll.mutate()}>
              {t('settings.logoutAll')}
            </Button>
          </>
        }
      >
        <p>{t('settings.logoutAllBody')}</p>
        {logoutAll.isError && (
          <Alert tone="error" className="mt-3">
            {describeError(logoutAll.error, t, i18n.language)}
          </Alert>
        )}
      </Dialog>
    </>
  );
}

export function SettingsRoute() {
  const { t } = useTranslation();
  useTitle(t('nav.settings'));
  const s = useSession();
  const me = useMe();
  const user = me.data ?? s.user;
  return (
    <div className="mx-auto w-full max-w-3xl space-y-6 px-4 py-8 sm:px-6">
      <h1 className="text-2xl font-bold tracking-tight">{t('nav.settings')}</h1>
      <Card aria-labelledby="profile-title">
        <CardHeader id="profile-title" title={t('settings.profile')} description={user?.email} />
        {user ? <ProfileForm user={user} /> : <SkeletonRows rows={4} label={t('common.loading')} />}
      </Card>
      <Card aria-labelledby="password-title">
        <CardHeader id="password-title" title={t('settings.password')} description={t('settings.passwordIntro')} />
        <PasswordForm />
      </Card>
      <Card aria-labelledby="sessions-title">
        <CardHeader id="sessions-title" title={t('settings.sessions')} description={t('settings.sessionsIntro')} />
        <LogoutEverywhere />
      </Card>
    </div>
  );
}
