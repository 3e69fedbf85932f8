// What a person reads when something fails: every ApiError, by its code,
// in the page's language. The portal's per-field messages are English
// sentences; the known ones are translated here, others shown as sent.
import type { TFunction } from 'i18next';
import { ApiError } from './api-client';

/** The portal's field messages that have a translation (exact text). */
const knownFieldMessages: Record<string, string> = {
  'This field is required.': 'fields.required',
  'Must be a valid e-mail address.': 'fields.email',
  'Must contain only ASCII letters, digits and symbols; internationalised addresses are not accepted.': 'fields.emailAscii',
  'Must not be only spaces.': 'fields.passwordSpaces',
  'Must be at least 10 characters.': 'fields.passwordShort',
  'Must be at most 72 bytes.': 'fields.passwordLong',
  'This password is too common; choose one that is harder to guess.': 'fields.passwordCommon',
  'Must not be your e-mail address, name or phone number.': 'fields.passwordPersonal',
  'Must be a phone number in international format, such as +96512345678.': 'fields.phone',
  'Must be at most 100 characters.': 'fields.tooLong100',
  'Must not contain control characters or invisible direction marks.': 'fields.controlChars',
  'Must differ from the current password.': 'fields.passwordSame',
  'The current password is incorrect.': 'fields.currentPasswordWrong',
};

export function fieldMessage(message: string, t: TFunction): string {
  if (/invalid or expired code/i.test(message)) return t('fields.codeInvalid');
  const key = knownFieldMessages[message];
  return key ? t(key) : message;
}

/** The portal's message for one field of a failed request, translated. */
export function serverFieldError(err: unknown, field: string, t: TFunction): string | undefined {
  if (!(err instanceof ApiError)) return undefined;
  const m = err.field(field);
  return m === undefined ? undefined : fieldMessage(m, t);
}

/** describeError is the one sentence for a failure, whatever it was. */
export function describeError(err: unknown, t: TFunction, lng: string): string {
  if (!(err instanceof ApiError)) return t('errors.unexpected');
  switch (err.code) {
    case 'network':
      return t('errors.network');
    case 'session_expired':
    case 'unauthorized':
      return t('errors.sessionExpired');
    case 'rate_limited':
      return err.retryAfter ? t('errors.rateLimitedFor', { seconds: err.retryAfter }) : t('errors.rateLimited');
    case 'insufficient_credits':
      return t('errors.insufficientCredits');
    case 'forbidden':
      return t('errors.forbidden');
    case 'not_found':
      return t('errors.notFound');
    case 'unavailable':
      return t('errors.unavailable');
    case 'internal':
      return err.requestId ? t('errors.internalWithId', { id: err.requestId }) : t('errors.internal');
    case 'invalid':
      return err.fields.length > 0 ? t('errors.invalidFields') : lng === 'en' ? err.message : t('errors.invalid');
    default:
      if (err.status >= 500) return t('errors.internal');
      return lng === 'en' ? err.message : t('errors.generic');
  }
}
