import { zodResolver } from '@hookform/resolvers/zod';
import { useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { paths } from '@/config/paths';
import { ApiError } from '@/lib/api-client';
import { describeError } from '@/lib/errors';
import { applyServerErrors, fieldText } from '@/lib/form';
import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Checkbox, TextField } from '@/components/ui/field';
import { loginInputSchema, useLogin, type LoginInput } from '../api/login';

/** LoginForm logs in (with "remember me") and calls onDone. */
export function LoginForm({ defaultEmail = '', onDone }: { defaultEmail?: string; onDone: () => void }) {
  const { t, i18n } = useTranslation();
  const login = useLogin();
  const form = useForm<LoginInput>({
    resolver: zodResolver(loginInputSchema),
    defaultValues: { email: defaultEmail, password: '', remember_me: false },
  });
  const { errors } = form.formState;

  const onSubmit = form.handleSubmit((v) =>
    login.mutate(v, {
      onSuccess: onDone,
      onError: (err) => applyServerErrors(err, form.setError, ['email', 'password'], t),
    }),
  );

  const err = login.error;
  const message =
    err instanceof ApiError && err.code === 'unauthorized'
      ? t('login.wrong')
      : err instanceof ApiError && err.code === 'forbidden'
        ? t('login.disabled')
        : err && !(err instanceof ApiError && err.fields.length > 0)
          ? describeError(err, t, i18n.language)
          : null;

  return (
    <form onSubmit={onSubmit} noValidate className="space-y-4">
      {message && <Alert tone="error">{message}</Alert>}
      <TextField label={t('fields.emailLabel')} type="email" autoComplete="email" dir="ltr" error={fieldText(errors.email, t)} {...form.register('email')} />
      <TextField
        label={t('fields.passwordLabel')}
        type="password"
        autoComplete="current-password"
        dir="ltr"
        error={fieldText(errors.password, t)}
        {...form.register('password')}
      />
      <div className="flex flex-wrap items-center justify-between gap-2">
        <Checkbox label={t('login.remember')} {...form.register('remember_me')} />
        <Link to={paths.forgotPassword} className="text-sm font-medium text-brand-700 hover:underline">
          {t('login.forgot')}
        </Link>
      </div>
      <Button type="submit" className="w-full" loading={login.isPending}>
        {t('login.submit')}
      </Button>
    </form>
  );
}
