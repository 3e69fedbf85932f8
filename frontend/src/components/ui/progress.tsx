import { cn } from './cn';

/** A bar from 0 to max; the fill starts at the inline start (right in Arabic). */
export function Progress({ value, max, label, tone = 'brand' }: { value: number; max: number; label: string; tone?: 'brand' | 'warning' | 'error' }) {
  const pct = max > 0 ? Math.min(100, Math.max(0, (value / max) * 100)) : 0;
  return (
    <div role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={max} aria-valuenow={Math.min(value, max)} className="h-3 w-full overflow-hidden rounded-full bg-slate-200">
      <div
        className={cn('h-full rounded-full transition-[width]', tone === 'brand' && 'bg-brand-600', tone === 'warning' && 'bg-amber-500', tone === 'error' && 'bg-red-600')}
        style={{ width: `${pct}%` }}
      />
    </div>
  );
}
