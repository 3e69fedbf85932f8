import { useTranslation } from 'react-i18next';
import { formatNumber } from '@/lib/format';
import type { ModelList } from '@/types/api';
import { Badge } from '@/components/ui/badge';
import { Table, Td, Th } from '@/components/ui/table';

/** ModelsTable lists the gateway's models, the plans that may use each and the prices. */
export function ModelsTable({ models }: { models: ModelList }) {
  const { t, i18n } = useTranslation();
  const lng = i18n.language;
  return (
    <Table label={t('models.title')}>
      <thead>
        <tr>
          <Th>{t('models.model')}</Th>
          <Th>{t('models.classLabel')}</Th>
          <Th>{t('models.runs')}</Th>
          <Th>{t('models.plans')}</Th>
          <Th numeric>{t('models.price')}</Th>
          <Th numeric>{t('models.cloudPrice')}</Th>
        </tr>
      </thead>
      <tbody>
        {models.data.map((m) => (
          <tr key={m.id}>
            <Td>
              <code dir="ltr" className="text-sm">
                {m.id}
              </code>
            </Td>
            <Td>{t(`models.class.${m.class}`)}</Td>
            <Td>
              <span className="flex gap-1">
                {m.local && <Badge tone="success">{t('models.local')}</Badge>}
                {m.cloud && <Badge tone="info">{t('models.cloud')}</Badge>}
              </span>
            </Td>
            <Td>{m.plans.map((p) => t(`plans.name.${p}`, { defaultValue: p })).join(t('common.listSeparator'))}</Td>
            <Td numeric>{formatNumber(m.credits_per_1k_tokens, lng)}</Td>
            <Td numeric>{m.cloud_credits_per_1k_tokens == null ? '—' : formatNumber(m.cloud_credits_per_1k_tokens, lng)}</Td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}
