import { zodResolver } from '@hookform/resolvers/zod';
import { useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { changePasswordInputSchema, useChangePassword, type ChangePasswordInput } from '../api/change-password';
import { ApiError } from '@/lib/api-client';
import { describeError } from '@/lib/errors';
import { applyServerErrors, fieldText } from '@/lib/form';
import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { TextField } from '@/components/ui/field';

/** Change the password; the portal ends every other session. */
export function PasswordForm() {
  const { t, i18n } = useTranslation();
  const change = useChangePassword();
  const form = useForm<ChangePasswordInput>({ resolver: zodResolver(changePasswordInputSchema), defaultValues: { current_password: '', new_password: '' } });
  const { errors } = form.formState;
  const onSubmit = form.handleSubmit((v) =>
    change.mutate(v, {
      onSuccess: () => form.reset(),
      onError: (err) => applyServerErrors(err, form.setError, ['current_password', 'new_password'], t),
    }),
  );
  const err = change.error;
  return (
    <form onSubmit={onSubmit} noValidate className="space-y-4">
      {err && !(err instanceof ApiError && err.fields.length > 0) && <Alert tone="error">{describeError(err, t, i18n.language)}</Alert>}
      {change.isSuccess && <Alert tone="success">{t('settings.passwordChanged')}</Alert>}
      <TextField
        label={t('settings.currentPassword')}
        type="password"
        autoComplete="current-password"
        dir="ltr"
        error={fieldText(errors.current_password, t)}
        {...form.register('current_password')}
      />
      <TextField
        label={t('forgot.newPassword')}
        type="password"
        autoComplete="new-password"
        dir="ltr"
        hint={t('register.passwordPolicy')}
        error={fieldText(errors.new_password, t)}
        {...form.register('new_password')}
      />
      <Button type="submit" loading={change.isPending}>
        {t('settings.changePassword')}
      </Button>
    </form>
  );
}
