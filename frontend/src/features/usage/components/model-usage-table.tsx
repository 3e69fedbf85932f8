import { useTranslation } from 'react-i18next';
import { describeError } from '@/lib/errors';
import { formatNumber } from '@/lib/format';
import { Alert } from '@/components/ui/alert';
import { Card, CardHeader } from '@/components/ui/card';
import { EmptyState } from '@/components/ui/empty-state';
import { SkeletonRows } from '@/components/ui/skeleton';
import { Table, Td, Th } from '@/components/ui/table';
import { useUsageModels } from '../api/get-usage-models';
import type { UsageRange } from '../api/range';

/** Usage per model over the chosen range, most credits first. */
export function ModelUsageTable({ range }: { range: UsageRange }) {
  const { t, i18n } = useTranslation();
  const lng = i18n.language;
  const models = useUsageModels(range);
  const n = (v: number) => formatNumber(v, lng);
  return (
    <Card aria-labelledby="models-usage-title">
      <CardHeader id="models-usage-title" title={t('usage.perModel')} description={t(`usage.rangeLong.${range}`)} />
      {models.isError && <Alert tone="error">{describeError(models.error, t, lng)}</Alert>}
      {models.isPending && <SkeletonRows rows={3} label={t('common.loading')} />}
      {models.data && models.data.data.length === 0 && <EmptyState title={t('usage.noModels')}>{t('usage.emptyBody')}</EmptyState>}
      {models.data && models.data.data.length > 0 && (
        <Table label={t('usage.perModel')}>
          <thead>
            <tr>
              <Th>{t('models.model')}</Th>
              <Th numeric>{t('usage.requests')}</Th>
              <Th numeric>{t('usage.promptTokens')}</Th>
              <Th numeric>{t('usage.completionTokens')}</Th>
              <Th numeric>{t('usage.credits')}</Th>
              <Th numeric>{t('usage.localCloud')}</Th>
              <Th numeric>{t('usage.errors')}</Th>
            </tr>
          </thead>
          <tbody>
            {models.data.data.map((m) => (
              <tr key={m.model}>
                <Td>
                  <code dir="ltr">{m.model}</code>
                </Td>
                <Td numeric>{n(m.requests)}</Td>
                <Td numeric>{n(m.prompt_tokens)}</Td>
                <Td numeric>{n(m.completion_tokens)}</Td>
                <Td numeric>{n(m.credits)}</Td>
                <Td numeric>
                  {n(m.local_requests)} / {n(m.cloud_requests)}
                </Td>
                <Td numeric>{n(m.errors)}</Td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
    </Card>
  );
}
