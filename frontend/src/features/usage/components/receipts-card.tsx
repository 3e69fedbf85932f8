import { useTranslation } from 'react-i18next';
import { describeError } from '@/lib/errors';
import { formatNumber } from '@/lib/format';
import { Alert } from '@/components/ui/alert';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardHeader } from '@/components/ui/card';
import { EmptyState } from '@/components/ui/empty-state';
import { DownloadIcon } from '@/components/ui/icons';
import { SkeletonRows } from '@/components/ui/skeleton';
import { Table, Td, Th } from '@/components/ui/table';
import { RelativeTime } from '@/components/ui/time';
import { useExportReceipts } from '../api/export-receipts';
import { useReceipts } from '../api/get-receipts';
import type { UsageRange } from '../api/range';

/**
 * ReceiptsCard: each request's receipt (held → charged credits, backend,
 * tokens, latency), newest first, a page at a time; the chosen range as
 * CSV.
 */
export function ReceiptsCard({ range }: { range: UsageRange }) {
  const { t, i18n } = useTranslation();
  const lng = i18n.language;
  const receipts = useReceipts();
  const exporter = useExportReceipts();
  const rows = receipts.data?.pages.flatMap((p) => p.data) ?? [];
  const n = (v: number) => formatNumber(v, lng);
  return (
    <Card aria-labelledby="receipts-title">
      <CardHeader
        id="receipts-title"
        title={t('receipts.title')}
        description={t('receipts.description')}
        actions={
          <Button variant="secondary" size="sm" loading={exporter.isPending} onClick={() => exporter.mutate(range)}>
            <DownloadIcon />
            {t('receipts.export', { range: t(`usage.rangeShort.${range}`) })}
          </Button>
        }
      />
      {exporter.isError && (
        <Alert tone="error" className="mb-3">
          {describeError(exporter.error, t, lng)}
        </Alert>
      )}
      {receipts.isError && <Alert tone="error">{describeError(receipts.error, t, lng)}</Alert>}
      {receipts.isPending && <SkeletonRows rows={4} label={t('common.loading')} />}
      {receipts.data && rows.length === 0 && <EmptyState title={t('receipts.emptyTitle')}>{t('usage.emptyBody')}</EmptyState>}
      {rows.length > 0 && (
        <Table label={t('receipts.title')}>
          <thead>
            <tr>
              <Th>{t('receipts.time')}</Th>
              <Th>{t('models.model')}</Th>
              <Th>{t('receipts.key')}</Th>
              <Th>{t('receipts.backend')}</Th>
              <Th numeric>{t('receipts.tokens')}</Th>
              <Th numeric>{t('receipts.credits')}</Th>
              <Th numeric>{t('receipts.latency')}</Th>
              <Th>{t('receipts.status')}</Th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.billing_id}>
                <Td>
                  <RelativeTime iso={r.created_at} />
                </Td>
                <Td>
                  <code dir="ltr">{r.model}</code>
                </Td>
                <Td>{r.key_name ?? t('common.none')}</Td>
                <Td>
                  <Badge tone={r.backend === 'cloud' ? 'info' : 'success'}>{t(r.backend === 'cloud' ? 'usage.cloud' : 'usage.local')}</Badge>
                </Td>
                <Td numeric title={t('receipts.tokensTitle', { prompt: n(r.prompt_tokens), completion: n(r.completion_tokens) })}>
                  {n(r.prompt_tokens)} + {n(r.completion_tokens)}
                </Td>
                <Td numeric>
                  <span className="text-slate-500">{r.held_credits == null ? '?' : n(r.held_credits)}</span>
                  <span aria-hidden="true" className="mx-1 inline-block text-slate-400 rtl:-scale-x-100">
                    →
                  </span>
                  <span className="sr-only">{t('receipts.heldThenCharged')}</span>
                  <span className="font-semibold">{n(r.charged_credits)}</span>
                </Td>
                <Td numeric>{t('receipts.ms', { ms: n(r.latency_ms) })}</Td>
                <Td>{r.status === 'ok' ? <Badge tone="success">{t('receipts.ok')}</Badge> : <Badge tone="error">{r.status}</Badge>}</Td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      {receipts.hasNextPage && (
        <div className="mt-4 flex justify-center">
          <Button variant="secondary" loading={receipts.isFetchingNextPage} onClick={() => receipts.fetchNextPage()}>
            {t('common.loadMore')}
          </Button>
        </div>
      )}
    </Card>
  );
}
