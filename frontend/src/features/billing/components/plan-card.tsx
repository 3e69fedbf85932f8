import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { formatKWD, formatNumber } from '@/lib/format';
import type { Plan } from '@/types/api';
import { Badge } from '@/components/ui/badge';
import { CheckIcon } from '@/components/ui/icons';
import { cn } from '@/components/ui/cn';

/** The plan's features in the page's language (the portal's list is English). */
export function planFeatures(plan: Plan, t: (k: string, o?: Record<string, unknown>) => string, lng: string): string[] {
  const out = [
    t('plans.credits', { credits: formatNumber(plan.credits, lng) }),
    t('plans.rate', { count: plan.rate_limit_per_minute, rate: formatNumber(plan.rate_limit_per_minute, lng) }),
    t('plans.classes', { classes: plan.model_classes.map((c) => t(`models.class.${c}`)).join(t('common.listSeparator')) }),
    plan.cloud_allowed ? t('plans.cloud') : t('plans.localOnly'),
  ];
  if (plan.enterprise_models) out.push(t('plans.enterpriseModels'));
  if (plan.teams_allowed) out.push(t('plans.teams'));
  return out;
}

/** PlanCard shows one tier: its price, credits, limits and models. */
export function PlanCard({ plan, highlight, current, action }: { plan: Plan; highlight?: boolean; current?: boolean; action?: ReactNode }) {
  const { t, i18n } = useTranslation();
  return (
    <article
      className={cn(
        'flex flex-col rounded-xl bg-white p-6 shadow-sm ring-1',
        highlight ? 'ring-2 ring-brand-600' : 'ring-slate-200',
      )}
      aria-labelledby={`plan-${plan.code}`}
    >
      <div className="flex items-center justify-between gap-2">
        <h3 id={`plan-${plan.code}`} className="text-lg font-semibold">
          {t(`plans.name.${plan.code}`, { defaultValue: plan.name })}
        </h3>
        {current ? <Badge tone="brand">{t('plans.current')}</Badge> : highlight ? <Badge tone="brand">{t('plans.popular')}</Badge> : null}
      </div>
      <p className="mt-3">
        <span className="tabular text-3xl font-bold">{formatKWD(plan.price_fils, i18n.language)}</span>
        <span className="text-sm text-slate-600"> {t('plans.per', { days: plan.duration_days })}</span>
      </p>
      <ul className="mt-5 flex-1 space-y-2 text-sm text-slate-700">
        {planFeatures(plan, t, i18n.language).map((f) => (
          <li key={f} className="flex gap-2">
            <span className="mt-0.5 text-brand-700">
              <CheckIcon />
            </span>
            {f}
          </li>
        ))}
      </ul>
      {action && <div className="mt-6">{action}</div>}
    </article>
  );
}
