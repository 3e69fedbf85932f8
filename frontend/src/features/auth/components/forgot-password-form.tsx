import { zodResolver } from '@hookform/resolvers/zod';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { ApiError } from '@/lib/api-client';
import { describeError } from '@/lib/errors';
import { applyServerErrors, fieldText } from '@/lib/form';
import type { PasswordResetRequest } from '@/types/api';
import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { TextField } from '@/components/ui/field';
import { resetConfirmSchema, useConfirmPasswordReset, type ResetConfirmInput } from '../api/confirm-password-reset';
import { resetIdentifierSchema, toResetTarget, useRequestPasswordReset, type ResetIdentifierInput } from '../api/request-password-reset';

function RequestStep({ onSent }: { onSent: (target: PasswordResetRequest) => void }) {
  const { t, i18n } = useTranslation();
  const request = useRequestPasswordReset();
  const form = useForm<ResetIdentifierInput>({ resolver: zodResolver(resetIdentifierSchema), defaultValues: { identifier: '' } });
  const onSubmit = form.handleSubmit(({ identifier }) => {
    const target = toResetTarget(identifier);
    request.mutate(target, {
      onSuccess: () => onSent(target),
      onError: (err) => applyServerErrors(err, form.setError, ['identifier'], t, { email: 'identifier', phone: 'identifier' }),
    });
  });
  const err = request.error;
  return (
    <form onSubmit={onSubmit} noValidate className="space-y-4">
      {err && !(err instanceof ApiError && err.fields.length > 0) && <Alert tone="error">{describeError(err, t, i18n.language)}</Alert>}
      <TextField
        label={t('forgot.identifier')}
        hint={t('forgot.identifierHint')}
        autoComplete="username"
        dir="ltr"
        error={fieldText(form.formState.errors.identifier, t)}
        {...form.register('identifier')}
      />
      <Button type="submit" className="w-full" loading={request.isPending}>
        {t('forgot.send')}
      </Button>
    </form>
  );
}

function ConfirmStep({ target, onDone, onRestart }: { target: PasswordResetRequest; onDone: () => void; onRestart: () => void }) {
  const { t, i18n } = useTranslation();
  const confirm = useConfirmPasswordReset();
  const form = useForm<ResetConfirmInput>({ resolver: zodResolver(resetConfirmSchema), defaultValues: { code: '', new_password: '' } });
  const onSubmit = form.handleSubmit((v) =>
    confirm.mutate(
      { ...target, code: v.code, new_password: v.new_password },
      {
        onSuccess: onDone,
        onError: (err) => {
          if (applyServerErrors(err, form.setError, ['code', 'new_password'], t)) return;
          // "invalid or expired code" without a field: it is the code's.
          if (err instanceof ApiError && err.code === 'invalid') {
            form.setError('code', { type: 'server', message: t('fields.codeInvalid') }, { shouldFocus: true });
          }
        },
      },
    ),
  );
  const err = confirm.error;
  const formLevel = err && !(err instanceof ApiError && err.code === 'invalid');
  return (
    <form onSubmit={onSubmit} noValidate className="space-y-4">
      <Alert tone="success">{t('forgot.sent')}</Alert>
      {formLevel && <Alert tone="error">{describeError(err, t, i18n.language)}</Alert>}
      <TextField
        label={t('forgot.code')}
        inputMode="numeric"
        autoComplete="one-time-code"
        dir="ltr"
        error={fieldText(form.formState.errors.code, t)}
        {...form.register('code')}
      />
      <TextField
        label={t('forgot.newPassword')}
        type="password"
        autoComplete="new-password"
        dir="ltr"
        hint={t('register.passwordPolicy')}
        error={fieldText(form.formState.errors.new_password, t)}
        {...form.register('new_password')}
      />
      <Button type="submit" className="w-full" loading={confirm.isPending}>
        {t('forgot.confirm')}
      </Button>
      <button type="button" onClick={onRestart} className="w-full text-center text-sm font-medium text-brand-700 hover:underline">
        {t('forgot.restart')}
      </button>
    </form>
  );
}

/**
 * ForgotPasswordForm is the WhatsApp code flow: ask for a code for an
 * e-mail or phone, then set a new password with it.
 */
export function ForgotPasswordForm({ onDone }: { onDone: () => void }) {
  const [target, setTarget] = useState<PasswordResetRequest | null>(null);
  return target ? <ConfirmStep target={target} onDone={onDone} onRestart={() => setTarget(null)} /> : <RequestStep onSent={setTarget} />;
}
