import { forwardRef, useId, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes } from 'react';
import { cn } from './cn';

const control =
  'block w-full rounded-lg border-0 bg-white px-3 py-2 text-slate-900 ring-1 ring-inset ring-slate-300 placeholder:text-slate-400 focus:ring-2 focus:ring-brand-600 focus:outline-none aria-[invalid=true]:ring-red-500 disabled:bg-slate-100';

type FieldProps = {
  label: ReactNode;
  hint?: ReactNode;
  /** The message next to the field: the client's check or the portal's. */
  error?: string;
};

/**
 * TextField is a labelled input with its hint and error tied to it
 * (aria-describedby), so a screen reader reads the portal's message for
 * that field.
 */
export const TextField = forwardRef<HTMLInputElement, FieldProps & InputHTMLAttributes<HTMLInputElement>>(function TextField(
  { label, hint, error, className, id, ...rest },
  ref,
) {
  const auto = useId();
  const inputId = id ?? auto;
  const hintId = `${inputId}-hint`;
  const errId = `${inputId}-error`;
  return (
    <div className={className}>
      <label htmlFor={inputId} className="block text-sm font-medium text-slate-800">
        {label}
      </label>
      <input
        ref={ref}
        id={inputId}
        className={cn(control, 'mt-1')}
        aria-invalid={error ? true : undefined}
        aria-describedby={cn(hint ? hintId : null, error ? errId : null) || undefined}
        {...rest}
      />
      {hint && (
        <p id={hintId} className="mt-1 text-xs text-slate-600">
          {hint}
        </p>
      )}
      <FieldError id={errId} message={error} />
    </div>
  );
});

export function FieldError({ id, message }: { id?: string; message?: string }) {
  if (!message) return null;
  return (
    <p id={id} className="mt-1 text-sm text-red-700">
      {message}
    </p>
  );
}

export const SelectField = forwardRef<HTMLSelectElement, FieldProps & SelectHTMLAttributes<HTMLSelectElement>>(function SelectField(
  { label, hint, error, className, id, children, ...rest },
  ref,
) {
  const auto = useId();
  const selectId = id ?? auto;
  return (
    <div className={className}>
      <label htmlFor={selectId} className="block text-sm font-medium text-slate-800">
        {label}
      </label>
      <select
        ref={ref}
        id={selectId}
        className={cn(control, 'mt-1 pe-8')}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${selectId}-error` : hint ? `${selectId}-hint` : undefined}
        {...rest}
      >
        {children}
      </select>
      {hint && (
        <p id={`${selectId}-hint`} className="mt-1 text-xs text-slate-600">
          {hint}
        </p>
      )}
      <FieldError id={`${selectId}-error`} message={error} />
    </div>
  );
});

export const Checkbox = forwardRef<HTMLInputElement, { label: ReactNode; hint?: ReactNode; error?: string } & InputHTMLAttributes<HTMLInputElement>>(
  function Checkbox({ label, hint, error, className, id, ...rest }, ref) {
    const auto = useId();
    const boxId = id ?? auto;
    return (
      <div className={cn('flex items-start gap-3', className)}>
        <input
          ref={ref}
          id={boxId}
          type="checkbox"
          className="mt-0.5 size-4 shrink-0 rounded border-slate-300 accent-brand-700"
          aria-describedby={hint ? `${boxId}-hint` : undefined}
          {...rest}
        />
        <div className="text-sm">
          <label htmlFor={boxId} className="font-medium text-slate-800">
            {label}
          </label>
          {hint && (
            <p id={`${boxId}-hint`} className="text-slate-600">
              {hint}
            </p>
          )}
          <FieldError message={error} />
        </div>
      </div>
    );
  },
);

export { control as controlClass };
