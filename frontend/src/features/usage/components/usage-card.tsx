import { lazy, Suspense, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { paths } from '@/config/paths';
import { describeError } from '@/lib/errors';
import { formatNumber } from '@/lib/format';
import { Alert } from '@/components/ui/alert';
import { ButtonLink } from '@/components/ui/button';
import { Card, CardHeader } from '@/components/ui/card';
import { EmptyState } from '@/components/ui/empty-state';
import { Segmented } from '@/components/ui/segmented';
import { Skeleton } from '@/components/ui/skeleton';
import { useUsageSummary } from '../api/get-usage-summary';
import type { UsageRange } from '../api/range';
import type { UsageView } from './usage-chart';

const UsageChart = lazy(() => import('./usage-chart').then((m) => ({ default: m.UsageChart })));

function Stat({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <dt className="text-xs text-slate-600">{label}</dt>
      <dd className="tabular mt-0.5 text-lg font-semibold text-slate-900">{value}</dd>
    </div>
  );
}

export function RangeChoice({ value, onChange }: { value: UsageRange; onChange: (r: UsageRange) => void }) {
  const { t } = useTranslation();
  return (
    <Segmented
      label={t('usage.range')}
      value={value}
      onChange={onChange}
      options={[
        { value: '24h', label: t('usage.range24h') },
        { value: '7d', label: t('usage.range7d') },
        { value: '30d', label: t('usage.range30d') },
      ]}
    />
  );
}

/** UsageCard: the range's totals and its chart, by requests or credits. */
export function UsageCard({ range, onRange }: { range: UsageRange; onRange: (r: UsageRange) => void }) {
  const { t, i18n } = useTranslation();
  const lng = i18n.language;
  const [view, setView] = useState<UsageView>('requests');
  const summary = useUsageSummary(range);
  const totals = summary.data?.totals;
  return (
    <Card aria-labelledby="usage-title">
      <CardHeader
        id="usage-title"
        title={t('usage.title')}
        actions={
          <>
            <RangeChoice value={range} onChange={onRange} />
            <Segmented
              label={t('usage.view')}
              value={view}
              onChange={setView}
              options={[
                { value: 'requests', label: t('usage.requests') },
                { value: 'credits', label: t('usage.credits') },
              ]}
            />
          </>
        }
      />
      {summary.isError && <Alert tone="error">{describeError(summary.error, t, lng)}</Alert>}
      {summary.isPending && <Skeleton className="h-72" />}
      {totals && (
        <>
          <dl className="mb-4 grid grid-cols-2 gap-4 sm:grid-cols-4" data-testid="usage-totals">
            <Stat label={t('usage.requests')} value={formatNumber(totals.requests, lng)} />
            <Stat label={t('usage.tokens')} value={formatNumber(totals.prompt_tokens + totals.completion_tokens, lng)} />
            <Stat label={t('usage.credits')} value={formatNumber(totals.credits, lng)} />
            <Stat label={t('usage.localCloud')} value={`${formatNumber(totals.local_requests, lng)} / ${formatNumber(totals.cloud_requests, lng)}`} />
          </dl>
          {totals.requests === 0 ? (
            <EmptyState
              title={t('usage.emptyTitle')}
              action={
                <ButtonLink to={paths.docs} variant="secondary">
                  {t('usage.emptyAction')}
                </ButtonLink>
              }
            >
              {t('usage.emptyBody')}
            </EmptyState>
          ) : (
            <Suspense fallback={<Skeleton className="h-64 sm:h-72" />}>
              {summary.data && <UsageChart summary={summary.data} view={view} />}
            </Suspense>
          )}
        </>
      )}
    </Card>
  );
}
