import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useBilling } from '@/features/billing/api/get-billing';
import { CreditsCard } from '@/features/billing/components/credits-card';
import { PlanSummary } from '@/features/billing/components/plan-summary';
import { KeysCard } from '@/features/keys/components/keys-card';
import type { UsageRange } from '@/features/usage/api/range';
import { ModelUsageTable } from '@/features/usage/components/model-usage-table';
import { ReceiptsCard } from '@/features/usage/components/receipts-card';
import { UsageCard } from '@/features/usage/components/usage-card';
import { useSession } from '@/lib/auth';
import { describeError } from '@/lib/errors';
import { useTitle } from '@/lib/use-title';
import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Skeleton } from '@/components/ui/skeleton';

export function DashboardRoute() {
  const { t, i18n } = useTranslation();
  useTitle(t('dashboard.title'));
  const s = useSession();
  const billing = useBilling();
  const [range, setRange] = useState<UsageRange>('24h');
  return (
    <div className="mx-auto w-full max-w-6xl space-y-6 px-4 py-8 sm:px-6">
      <div>
        <h1 className="text-2xl font-bold tracking-tight">{t('dashboard.title')}</h1>
        {s.user && <p className="mt-1 text-slate-600">{t('dashboard.welcome', { name: s.user.name })}</p>}
      </div>
      {billing.isError ? (
        <Alert tone="error">
          {describeError(billing.error, t, i18n.language)}{' '}
          <Button size="sm" variant="secondary" onClick={() => billing.refetch()}>
            {t('errors.retry')}
          </Button>
        </Alert>
      ) : (
        <div className="grid gap-6 lg:grid-cols-5">
          <div className="lg:col-span-3">{billing.data ? <CreditsCard billing={billing.data} /> : <Skeleton className="h-64" />}</div>
          <div className="lg:col-span-2">{billing.data ? <PlanSummary billing={billing.data} /> : <Skeleton className="h-64" />}</div>
        </div>
      )}
      <UsageCard range={range} onRange={setRange} />
      <KeysCard />
      <ModelUsageTable range={range} />
      <ReceiptsCard range={range} />
    </div>
  );
}
