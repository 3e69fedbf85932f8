import { useTranslation } from 'react-i18next';
import { paths } from '@/config/paths';
import { describeError } from '@/lib/errors';
import { formatDateTime, formatDay, formatNumber } from '@/lib/format';
import type { Billing } from '@/types/api';
import { Alert } from '@/components/ui/alert';
import { Badge } from '@/components/ui/badge';
import { Button, ButtonLink } from '@/components/ui/button';
import { Card } from '@/components/ui/card';
import { useCheckout } from '../api/checkout';

/** The plan, its state and expiry, with renew and upgrade. */
export function PlanSummary({ billing }: { billing: Billing }) {
  const { t, i18n } = useTranslation();
  const lng = i18n.language;
  const checkout = useCheckout();
  const plan = billing.plan;
  const eff = billing.effective_plan;
  const planName = (code: string, name: string) => t(`plans.name.${code}`, { defaultValue: name });
  return (
    <Card aria-labelledby="plan-title">
      <div className="flex items-center justify-between gap-2">
        <h2 id="plan-title" className="text-sm font-medium text-slate-600">
          {t('plan.title')}
        </h2>
        {billing.status === 'active' && <Badge tone="success">{t('plan.active')}</Badge>}
        {billing.status === 'expired' && <Badge tone="warning">{t('plan.expired')}</Badge>}
        {billing.status === 'none' && <Badge>{t('plan.none')}</Badge>}
      </div>
      <p className="mt-2 text-2xl font-bold">{plan ? planName(plan.code, plan.name) : t('plan.payAsYouGo')}</p>
      <p className="mt-1 text-sm text-slate-600">
        {billing.status === 'active' && billing.renewal_date
          ? t('plan.renewBy', { date: formatDay(billing.renewal_date, lng) })
          : billing.status === 'expired' && billing.expires_at
            ? t('plan.expiredOn', { date: formatDateTime(billing.expires_at, lng) })
            : t('plan.noneBody')}
      </p>
      <p className="mt-3 text-sm text-slate-700">
        {t('plan.limits', {
          name: planName(eff.code, eff.name),
          rate: formatNumber(eff.rate_limit_per_minute, lng),
        })}
      </p>
      {checkout.isError && (
        <Alert tone="error" className="mt-3">
          {describeError(checkout.error, t, lng)}
        </Alert>
      )}
      <div className="mt-5 flex flex-wrap gap-2">
        {plan && billing.status !== 'none' && (
          <Button variant="secondary" loading={checkout.isPending || checkout.isSuccess} onClick={() => checkout.mutate({ kind: 'subscription', plan_id: plan.id })}>
            {t('plan.renew')}
          </Button>
        )}
        <ButtonLink to={paths.billing} variant={plan ? 'ghost' : 'primary'}>
          {plan ? t('plan.upgrade') : t('plan.choose')}
        </ButtonLink>
      </div>
    </Card>
  );
}
