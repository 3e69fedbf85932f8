import { zodResolver } from '@hookform/resolvers/zod';
import { useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { paths } from '@/config/paths';
import { ApiError } from '@/lib/api-client';
import { describeError } from '@/lib/errors';
import { applyServerErrors, fieldText } from '@/lib/form';
import { isLanguage } from '@/lib/i18n';
import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Checkbox, controlClass, FieldError, TextField } from '@/components/ui/field';
import { cn } from '@/components/ui/cn';
import { dialCodes, registerInputSchema, toRegisterRequest, useRegister, type RegisterFormValues, type RegisterInput } from '../api/register';

/** RegisterForm creates an account and calls onDone with its e-mail. */
export function RegisterForm({ onDone }: { onDone: (email: string) => void }) {
  const { t, i18n } = useTranslation();
  const register = useRegister();
  const form = useForm<RegisterFormValues, unknown, RegisterInput>({
    resolver: zodResolver(registerInputSchema),
    defaultValues: { name: '', email: '', dial: '965', phone: '', password: '', whatsapp_opt_in: false },
  });
  const { errors } = form.formState;

  const onSubmit = form.handleSubmit((v) =>
    register.mutate(toRegisterRequest(v, isLanguage(i18n.language) ? i18n.language : 'en'), {
      onSuccess: () => onDone(v.email),
      onError: (err) => {
        if (err instanceof ApiError && err.code === 'conflict') {
          form.setError('email', { type: 'server', message: t('register.emailTaken') }, { shouldFocus: true });
          return;
        }
        applyServerErrors(err, form.setError, ['name', 'email', 'phone', 'password'], t);
      },
    }),
  );

  const err = register.error;
  const message =
    err && !(err instanceof ApiError && (err.code === 'conflict' || err.fields.length > 0)) ? describeError(err, t, i18n.language) : null;
  const phoneError = fieldText(errors.phone, t) ?? fieldText(errors.dial, t);

  return (
    <form onSubmit={onSubmit} noValidate className="space-y-4">
      {message && <Alert tone="error">{message}</Alert>}
      <TextField label={t('fields.nameLabel')} autoComplete="name" error={fieldText(errors.name, t)} {...form.register('name')} />
      <TextField label={t('fields.emailLabel')} type="email" autoComplete="email" dir="ltr" error={fieldText(errors.email, t)} {...form.register('email')} />
      {/* min-w-0: a fieldset is as wide as its content's minimum by default. */}
      <fieldset className="min-w-0">
        <legend className="block text-sm font-medium text-slate-800">{t('fields.phoneLabel')}</legend>
        <div className="mt-1 flex gap-2" dir="ltr">
          <select
            aria-label={t('register.countryCode')}
            className={cn(controlClass.replace('w-full', ''), 'w-28 shrink-0')}
            autoComplete="tel-country-code"
            {...form.register('dial')}
          >
            {dialCodes.map((c) => (
              <option key={c} value={c}>
                +{c}
              </option>
            ))}
          </select>
          <input
            type="tel"
            inputMode="tel"
            autoComplete="tel-national"
            aria-label={t('register.localNumber')}
            aria-invalid={phoneError ? true : undefined}
            aria-describedby="phone-hint phone-error"
            placeholder="5555 1234"
            className={cn(controlClass.replace('w-full', ''), 'min-w-0 flex-1')}
            {...form.register('phone')}
          />
        </div>
        <p id="phone-hint" className="mt-1 text-xs text-slate-600">
          {t('register.phoneHint')}
        </p>
        <FieldError id="phone-error" message={phoneError} />
      </fieldset>
      <TextField
        label={t('fields.passwordLabel')}
        type="password"
        autoComplete="new-password"
        dir="ltr"
        hint={t('register.passwordPolicy')}
        error={fieldText(errors.password, t)}
        {...form.register('password')}
      />
      <Checkbox label={t('register.whatsapp')} hint={t('register.whatsappHint')} {...form.register('whatsapp_opt_in')} />
      <p className="text-xs text-slate-600">
        {t('register.agree')}{' '}
        <Link to={paths.terms} className="font-medium text-brand-700 hover:underline">
          {t('legal.terms')}
        </Link>{' '}
        ·{' '}
        <Link to={paths.privacy} className="font-medium text-brand-700 hover:underline">
          {t('legal.privacy')}
        </Link>
      </p>
      <Button type="submit" className="w-full" loading={register.isPending}>
        {t('register.submit')}
      </Button>
    </form>
  );
}
