// react-hook-form and the portal's field errors: the client checks with
// zod (messages are translation keys), the portal answers with per-field
// errors (English sentences, translated when known); both show next to
// their field.
import type { TFunction } from 'i18next';
import type { FieldError as FormFieldError, FieldValues, Path, UseFormSetError } from 'react-hook-form';
import { ApiError } from './api-client';
import { fieldMessage } from './errors';

/** The text of a field's error, whichever side found it. */
export function fieldText(err: FormFieldError | undefined, t: TFunction): string | undefined {
  if (!err?.message) return undefined;
  return err.type === 'server' ? err.message : t(err.message);
}

/**
 * applyServerErrors puts each of the portal's field errors on its form
 * field (renamed through rename when the form calls it otherwise) and
 * reports whether any was placed; the rest is for the form-level message.
 */
export function applyServerErrors<T extends FieldValues>(
  err: unknown,
  setError: UseFormSetError<T>,
  fields: readonly Path<T>[],
  t: TFunction,
  rename: Record<string, Path<T>> = {},
): boolean {
  if (!(err instanceof ApiError)) return false;
  let placed = false;
  let first = true;
  for (const f of err.fields) {
    const name = rename[f.field] ?? (f.field as Path<T>);
    if (!fields.includes(name)) continue;
    setError(name, { type: 'server', message: fieldMessage(f.message, t) }, { shouldFocus: first });
    first = false;
    placed = true;
  }
  return placed;
}
