import { useTranslation } from 'react-i18next';
import { paths } from '@/config/paths';
import { formatNumber } from '@/lib/format';
import type { Billing } from '@/types/api';
import { Alert } from '@/components/ui/alert';
import { ButtonLink } from '@/components/ui/button';
import { Card } from '@/components/ui/card';
import { Progress } from '@/components/ui/progress';
import { QuickTopUp } from './quick-topup';

/** The balance first and largest: N of M credits this period, with a bar. */
export function CreditsCard({ billing }: { billing: Billing }) {
  const { t, i18n } = useTranslation();
  const lng = i18n.language;
  const available = billing.available_credits;
  const period = Math.max(billing.period_credits, available);
  const low = period > 0 && available * 5 <= period;
  return (
    <Card aria-labelledby="credits-title">
      <h2 id="credits-title" className="text-sm font-medium text-slate-600">
        {t('credits.title')}
      </h2>
      <p className="mt-2 flex flex-wrap items-baseline gap-x-2">
        <span className="tabular text-5xl font-bold tracking-tight text-slate-900" data-testid="credits-available">
          {formatNumber(available, lng)}
        </span>
        {period > 0 && <span className="text-slate-600">{t('credits.ofPeriod', { period: formatNumber(period, lng) })}</span>}
      </p>
      <div className="mt-4">
        <Progress value={available} max={period} label={t('credits.bar')} tone={available === 0 ? 'error' : low ? 'warning' : 'brand'} />
      </div>
      {billing.held_credits > 0 && (
        <p className="mt-2 text-sm text-slate-600">{t('credits.held', { held: formatNumber(billing.held_credits, lng) })}</p>
      )}
      {available === 0 ? (
        <Alert tone="warning" className="mt-4">
          {t('credits.empty')}
        </Alert>
      ) : low ? (
        <Alert tone="warning" className="mt-4">
          {t('credits.low')}
        </Alert>
      ) : null}
      <div className="mt-5 flex flex-wrap gap-2">
        <QuickTopUp />
        <ButtonLink to={paths.billing} variant="secondary">
          {t('credits.plans')}
        </ButtonLink>
      </div>
    </Card>
  );
}
