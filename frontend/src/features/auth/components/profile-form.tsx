import { zodResolver } from '@hookform/resolvers/zod';
import { useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { z } from 'zod';
import { useUpdateMe } from '../api/update-me';
import { ApiError } from '@/lib/api-client';
import { describeError } from '@/lib/errors';
import { applyServerErrors, fieldText } from '@/lib/form';
import type { User } from '@/types/api';
import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Checkbox, SelectField, TextField } from '@/components/ui/field';

// The profile form's schema lives here rather than beside updateMe: the
// language switch on every page calls updateMe, and zod must stay out of
// the first page's JavaScript.
export const updateMeInputSchema = z.object({
  name: z.string().trim().min(1, 'fields.required').max(100, 'fields.tooLong100'),
  phone: z
    .string()
    .transform((s) => s.replace(/[\s()-]/g, ''))
    .pipe(z.string().regex(/^\+[1-9][0-9]{6,14}$/, 'fields.phone')),
  locale: z.enum(['ar', 'en']),
  whatsapp_opt_in: z.boolean(),
});
type FormValues = z.input<typeof updateMeInputSchema>;
type Input = z.output<typeof updateMeInputSchema>;

/** Name, phone, language and WhatsApp consent. */
export function ProfileForm({ user }: { user: User }) {
  const { t, i18n } = useTranslation();
  const update = useUpdateMe();
  const form = useForm<FormValues, unknown, Input>({
    resolver: zodResolver(updateMeInputSchema),
    values: { name: user.name, phone: user.phone, locale: user.locale, whatsapp_opt_in: user.whatsapp_opt_in ?? false },
  });
  const { errors } = form.formState;
  const onSubmit = form.handleSubmit((v) =>
    update.mutate(v, { onError: (err) => applyServerErrors(err, form.setError, ['name', 'phone', 'locale'], t) }),
  );
  const err = update.error;
  return (
    <form onSubmit={onSubmit} noValidate className="space-y-4">
      {err && !(err instanceof ApiError && err.fields.length > 0) && <Alert tone="error">{describeError(err, t, i18n.language)}</Alert>}
      {update.isSuccess && !form.formState.isDirty && <Alert tone="success">{t('settings.saved')}</Alert>}
      <TextField label={t('fields.nameLabel')} autoComplete="name" error={fieldText(errors.name, t)} {...form.register('name')} />
      <TextField
        label={t('fields.phoneLabel')}
        type="tel"
        autoComplete="tel"
        dir="ltr"
        hint={t('settings.phoneHint')}
        error={fieldText(errors.phone, t)}
        {...form.register('phone')}
      />
      <SelectField label={t('settings.language')} error={fieldText(errors.locale, t)} {...form.register('locale')}>
        <option value="en">English</option>
        <option value="ar" lang="ar">
          العربية
        </option>
      </SelectField>
      <Checkbox label={t('register.whatsapp')} hint={t('register.whatsappHint')} {...form.register('whatsapp_opt_in')} />
      <Button type="submit" loading={update.isPending}>
        {t('common.save')}
      </Button>
    </form>
  );
}
