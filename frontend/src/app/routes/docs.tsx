import { useTranslation } from 'react-i18next';
import { usePlans } from '@/features/billing/api/get-plans';
import { planFeatures } from '@/features/billing/components/plan-card';
import { useConfig } from '@/features/catalog/api/get-config';
import { useModels } from '@/features/catalog/api/get-models';
import { ModelsTable } from '@/features/catalog/components/models-table';
import { formatKWD, formatNumber } from '@/lib/format';
import { useTitle } from '@/lib/use-title';
import { Markdown } from '@/components/ui/markdown';
import { Skeleton } from '@/components/ui/skeleton';
import { Table, Td, Th } from '@/components/ui/table';
import docsAr from '@/content/docs/ar.md?raw';
import docsEn from '@/content/docs/en.md?raw';

const fallbackGateway = 'https://YOUR-GATEWAY/v1';

function PlansTable() {
  const { t, i18n } = useTranslation();
  const plans = usePlans();
  const lng = i18n.language;
  if (!plans.data) return <Skeleton className="h-40" />;
  return (
    <div className="rounded-lg bg-white px-5 py-2 ring-1 ring-slate-200 sm:px-6">
      <Table label={t('docs.plansTable')}>
        <thead>
          <tr>
            <Th>{t('docs.plan')}</Th>
            <Th numeric>{t('docs.price')}</Th>
            <Th numeric>{t('docs.credits')}</Th>
            <Th numeric>{t('docs.rate')}</Th>
            <Th>{t('docs.includes')}</Th>
          </tr>
        </thead>
        <tbody>
          {plans.data.map((p) => (
            <tr key={p.id}>
              <Td className="font-medium">{t(`plans.name.${p.code}`, { defaultValue: p.name })}</Td>
              <Td numeric>{formatKWD(p.price_fils, lng)}</Td>
              <Td numeric>{formatNumber(p.credits, lng)}</Td>
              <Td numeric>{formatNumber(p.rate_limit_per_minute, lng)}</Td>
              <Td wrap>{planFeatures(p, t, lng).slice(2).join(t('common.listSeparator'))}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </div>
  );
}

function Models() {
  const models = useModels();
  if (!models.data) return <Skeleton className="h-40" />;
  return (
    <div className="rounded-lg bg-white px-5 py-2 ring-1 ring-slate-200 sm:px-6">
      <ModelsTable models={models.data} />
    </div>
  );
}

/** The API docs: a text file per language, with the real gateway URL, plans and models. */
export function DocsRoute() {
  const { t, i18n } = useTranslation();
  useTitle(t('nav.docs'));
  const config = useConfig();
  const models = useModels();
  return (
    <article className="mx-auto w-full max-w-4xl px-4 py-10 sm:px-6">
      <Markdown
        text={i18n.language === 'ar' ? docsAr : docsEn}
        vars={{
          gateway_url: config.data?.gateway_url ?? fallbackGateway,
          model: models.data?.data[0]?.id ?? 'llama3.2:3b',
          billing_url: `${location.origin}/billing`,
        }}
        slots={{ plans: <PlansTable />, models: <Models /> }}
      />
    </article>
  );
}
