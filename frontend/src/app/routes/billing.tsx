import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useCheckout } from '@/features/billing/api/checkout';
import { useBilling } from '@/features/billing/api/get-billing';
import { usePacks } from '@/features/billing/api/get-packs';
import { usePlans } from '@/features/billing/api/get-plans';
import { PackCard } from '@/features/billing/components/pack-card';
import { PaymentsTable } from '@/features/billing/components/payments-table';
import { PlanCard } from '@/features/billing/components/plan-card';
import { describeError } from '@/lib/errors';
import { formatDateTime, formatDay, formatNumber } from '@/lib/format';
import { useTitle } from '@/lib/use-title';
import type { Billing, Plan } from '@/types/api';
import { Alert } from '@/components/ui/alert';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card } from '@/components/ui/card';
import { Dialog } from '@/components/ui/dialog';
import { Skeleton } from '@/components/ui/skeleton';

function Current({ billing }: { billing: Billing }) {
  const { t, i18n } = useTranslation();
  const lng = i18n.language;
  const plan = billing.plan;
  return (
    <Card aria-labelledby="current-title" className="flex flex-wrap items-center justify-between gap-4">
      <div>
        <h2 id="current-title" className="text-sm font-medium text-slate-600">
          {t('billing.current')}
        </h2>
        <p className="mt-1 flex flex-wrap items-center gap-2 text-xl font-semibold">
          {plan ? t(`plans.name.${plan.code}`, { defaultValue: plan.name }) : t('plan.payAsYouGo')}
          {billing.status === 'active' && <Badge tone="success">{t('plan.active')}</Badge>}
          {billing.status === 'expired' && <Badge tone="warning">{t('plan.expired')}</Badge>}
        </p>
        <p className="mt-1 text-sm text-slate-600">
          {billing.status === 'active' && billing.renewal_date
            ? t('plan.renewBy', { date: formatDay(billing.renewal_date, lng) })
            : billing.status === 'expired' && billing.expires_at
              ? t('plan.expiredOn', { date: formatDateTime(billing.expires_at, lng) })
              : t('plan.noneBody')}
        </p>
      </div>
      <div className="text-end">
        <p className="text-sm text-slate-600">{t('credits.title')}</p>
        <p className="tabular text-3xl font-bold">{formatNumber(billing.available_credits, lng)}</p>
      </div>
    </Card>
  );
}

/** The button of a plan card: subscribe, renew, or switch (after a confirmation). */
function PlanAction({ plan, billing, onSwitch }: { plan: Plan; billing: Billing; onSwitch: (p: Plan) => void }) {
  const { t, i18n } = useTranslation();
  const checkout = useCheckout();
  const running = billing.status === 'active' ? billing.plan : null;
  const busy = checkout.isPending || checkout.isSuccess;
  if (running && running.id !== plan.id) {
    return (
      <Button variant="secondary" className="w-full" onClick={() => onSwitch(plan)}>
        {t('billing.switch', { name: t(`plans.name.${plan.code}`, { defaultValue: plan.name }) })}
      </Button>
    );
  }
  return (
    <>
      {checkout.isError && (
        <Alert tone="error" className="mb-3">
          {describeError(checkout.error, t, i18n.language)}
        </Alert>
      )}
      <Button className="w-full" loading={busy} onClick={() => checkout.mutate({ kind: 'subscription', plan_id: plan.id })}>
        {billing.plan?.id === plan.id ? t('billing.renew') : t('billing.subscribe')}
      </Button>
    </>
  );
}

function SwitchDialog({ target, billing, onClose }: { target: Plan | null; billing: Billing; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const checkout = useCheckout();
  const name = (p: Plan | null) => (p ? t(`plans.name.${p.code}`, { defaultValue: p.name }) : '');
  return (
    <Dialog
      open={target !== null}
      onClose={() => {
        checkout.reset();
        onClose();
      }}
      title={t('billing.switchTitle', { name: name(target) })}
      footer={
        <>
          <Button variant="secondary" onClick={onClose}>
            {t('common.cancel')}
          </Button>
          <Button loading={checkout.isPending || checkout.isSuccess} onClick={() => target && checkout.mutate({ kind: 'subscription', plan_id: target.id })}>
            {t('billing.switchConfirm')}
          </Button>
        </>
      }
    >
      <p>{t('billing.switchBody', { current: name(billing.plan) })}</p>
      {checkout.isError && (
        <Alert tone="error" className="mt-3">
          {describeError(checkout.error, t, i18n.language)}
        </Alert>
      )}
    </Dialog>
  );
}

function PackAction({ packId }: { packId: number }) {
  const { t, i18n } = useTranslation();
  const checkout = useCheckout();
  return (
    <div className="flex flex-col items-end gap-2">
      <Button variant="secondary" loading={checkout.isPending || checkout.isSuccess} onClick={() => checkout.mutate({ kind: 'topup', pack_id: packId })}>
        {t('billing.buy')}
      </Button>
      {checkout.isError && <p className="text-sm text-red-700">{describeError(checkout.error, t, i18n.language)}</p>}
    </div>
  );
}

export function BillingRoute() {
  const { t, i18n } = useTranslation();
  useTitle(t('nav.billing'));
  const billing = useBilling();
  const plans = usePlans();
  const packs = usePacks();
  const [switching, setSwitching] = useState<Plan | null>(null);
  const error = billing.error ?? plans.error ?? packs.error;
  return (
    <div className="mx-auto w-full max-w-6xl space-y-8 px-4 py-8 sm:px-6">
      <h1 className="text-2xl font-bold tracking-tight">{t('nav.billing')}</h1>
      {error && <Alert tone="error">{describeError(error, t, i18n.language)}</Alert>}
      {billing.data ? <Current billing={billing.data} /> : !error && <Skeleton className="h-28" />}

      <section aria-labelledby="plans-title">
        <h2 id="plans-title" className="text-lg font-semibold">
          {t('billing.plansTitle')}
        </h2>
        <p className="mt-1 text-sm text-slate-600">{t('billing.plansIntro')}</p>
        <div className="mt-4 grid gap-6 md:grid-cols-3">
          {plans.data && billing.data
            ? plans.data.map((p) => (
                <PlanCard
                  key={p.id}
                  plan={p}
                  current={billing.data.status === 'active' && billing.data.plan?.id === p.id}
                  action={<PlanAction plan={p} billing={billing.data} onSwitch={setSwitching} />}
                />
              ))
            : [0, 1, 2].map((i) => <Skeleton key={i} className="h-80" />)}
        </div>
      </section>

      <section aria-labelledby="packs-title">
        <h2 id="packs-title" className="text-lg font-semibold">
          {t('landing.packsTitle')}
        </h2>
        <p className="mt-1 text-sm text-slate-600">{t('landing.packsIntro')}</p>
        <div className="mt-4 grid gap-4 md:grid-cols-3">
          {packs.data ? packs.data.map((p) => <PackCard key={p.id} pack={p} action={<PackAction packId={p.id} />} />) : [0, 1, 2].map((i) => <Skeleton key={i} className="h-20" />)}
        </div>
      </section>

      {plans.data && packs.data && <PaymentsTable plans={plans.data} packs={packs.data} />}
      {billing.data && <SwitchDialog target={switching} billing={billing.data} onClose={() => setSwitching(null)} />}
    </div>
  );
}
