import { useTranslation } from 'react-i18next';
import { describeError } from '@/lib/errors';
import { formatDateTime, formatKWD, formatNumber } from '@/lib/format';
import type { Pack, Payment, Plan } from '@/types/api';
import { Alert } from '@/components/ui/alert';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardHeader } from '@/components/ui/card';
import { EmptyState } from '@/components/ui/empty-state';
import { SkeletonRows } from '@/components/ui/skeleton';
import { Table, Td, Th } from '@/components/ui/table';
import { usePayments } from '../api/get-payments';

const tones = { paid: 'success', pending: 'warning', failed: 'error', expired: 'neutral', needs_review: 'info', rejected: 'error' } as const;

export function PaymentStatus({ status }: { status: Payment['status'] }) {
  const { t } = useTranslation();
  return <Badge tone={tones[status]}>{t(`payments.status.${status}`)}</Badge>;
}

/** The account's payments, newest first, a page at a time; a pending one can still be paid. */
export function PaymentsTable({ plans, packs }: { plans: Plan[]; packs: Pack[] }) {
  const { t, i18n } = useTranslation();
  const lng = i18n.language;
  const payments = usePayments();
  const rows = payments.data?.pages.flatMap((p) => p.data) ?? [];
  const item = (p: Payment) => {
    if (p.kind === 'subscription') {
      const plan = plans.find((x) => x.id === p.plan_id);
      return t('payments.plan', { name: plan ? t(`plans.name.${plan.code}`, { defaultValue: plan.name }) : '' });
    }
    const pack = packs.find((x) => x.id === p.pack_id);
    return t('payments.pack', { credits: formatNumber(pack?.credits ?? p.credits, lng) });
  };
  return (
    <Card aria-labelledby="payments-title">
      <CardHeader id="payments-title" title={t('payments.title')} />
      {payments.isError && <Alert tone="error">{describeError(payments.error, t, lng)}</Alert>}
      {payments.isPending && <SkeletonRows rows={3} label={t('common.loading')} />}
      {payments.data && rows.length === 0 && <EmptyState title={t('payments.emptyTitle')}>{t('payments.emptyBody')}</EmptyState>}
      {rows.length > 0 && (
        <Table label={t('payments.title')}>
          <thead>
            <tr>
              <Th>{t('payments.date')}</Th>
              <Th>{t('payments.item')}</Th>
              <Th numeric>{t('payments.amount')}</Th>
              <Th numeric>{t('payments.credits')}</Th>
              <Th>{t('payments.statusLabel')}</Th>
              <Th>
                <span className="sr-only">{t('keys.actions')}</span>
              </Th>
            </tr>
          </thead>
          <tbody>
            {rows.map((p) => (
              <tr key={p.id}>
                <Td>{formatDateTime(p.created_at, lng)}</Td>
                <Td>{item(p)}</Td>
                <Td numeric>{formatKWD(p.amount_fils, lng)}</Td>
                <Td numeric>{formatNumber(p.credits, lng)}</Td>
                <Td>
                  <PaymentStatus status={p.status} />
                </Td>
                <Td className="text-end">
                  {p.status === 'pending' && p.payment_url && new Date(p.expires_at) > new Date() && (
                    <a href={p.payment_url} className="text-sm font-medium text-brand-700 hover:underline">
                      {t('payments.payNow')}
                    </a>
                  )}
                </Td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      {payments.hasNextPage && (
        <div className="mt-4 flex justify-center">
          <Button variant="secondary" loading={payments.isFetchingNextPage} onClick={() => payments.fetchNextPage()}>
            {t('common.loadMore')}
          </Button>
        </div>
      )}
    </Card>
  );
}
