import type { ReactNode, TdHTMLAttributes, ThHTMLAttributes } from 'react';
import { cn } from './cn';

/** A table that scrolls sideways on a narrow screen instead of squeezing. */
export function Table({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="-mx-5 overflow-x-auto sm:-mx-6" tabIndex={0} role="region" aria-label={label}>
      <table className="min-w-full text-sm">{children}</table>
    </div>
  );
}

export function Th({ className, numeric, ...rest }: ThHTMLAttributes<HTMLTableCellElement> & { numeric?: boolean }) {
  return (
    <th
      scope="col"
      className={cn(
        'border-b border-slate-200 px-3 py-2 text-xs font-semibold whitespace-nowrap text-slate-600 first:ps-5 last:pe-5 sm:first:ps-6 sm:last:pe-6',
        numeric ? 'text-end' : 'text-start',
        className,
      )}
      {...rest}
    />
  );
}

export function Td({ className, numeric, wrap, ...rest }: TdHTMLAttributes<HTMLTableCellElement> & { numeric?: boolean; wrap?: boolean }) {
  return (
    <td
      className={cn(
        'border-b border-slate-100 px-3 py-2 first:ps-5 last:pe-5 sm:first:ps-6 sm:last:pe-6',
        wrap ? 'min-w-64' : 'whitespace-nowrap',
        numeric && 'tabular text-end',
        className,
      )}
      {...rest}
    />
  );
}
