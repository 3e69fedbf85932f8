import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { paths } from '@/config/paths';
import { usePacks } from '@/features/billing/api/get-packs';
import { usePlans } from '@/features/billing/api/get-plans';
import { PackCard } from '@/features/billing/components/pack-card';
import { PlanCard } from '@/features/billing/components/plan-card';
import { useConfig } from '@/features/catalog/api/get-config';
import { useModels } from '@/features/catalog/api/get-models';
import { CodeExamples } from '@/features/catalog/components/code-examples';
import { ModelsTable } from '@/features/catalog/components/models-table';
import { useSession } from '@/lib/auth';
import { describeError } from '@/lib/errors';
import { useTitle } from '@/lib/use-title';
import { Alert } from '@/components/ui/alert';
import { ButtonLink } from '@/components/ui/button';
import { ArrowIcon } from '@/components/ui/icons';
import { Skeleton } from '@/components/ui/skeleton';

/** The gateway URL the examples show until /api/v1/config answers. */
const fallbackGateway = 'https://YOUR-GATEWAY/v1';

function Section({ id, title, intro, children }: { id: string; title: string; intro?: string; children: ReactNode }) {
  return (
    <section id={id} aria-labelledby={`${id}-title`} className="scroll-mt-20 py-14">
      <div className="mx-auto max-w-6xl px-4 sm:px-6">
        <h2 id={`${id}-title`} className="text-2xl font-bold tracking-tight sm:text-3xl">
          {title}
        </h2>
        {intro && <p className="mt-2 max-w-2xl text-slate-600">{intro}</p>}
        <div className="mt-8">{children}</div>
      </div>
    </section>
  );
}

function Pricing() {
  const { t, i18n } = useTranslation();
  const plans = usePlans();
  const packs = usePacks();
  const s = useSession();
  const cta = s.status === 'signed-in' ? paths.billing : paths.register;
  if (plans.isError || packs.isError) return <Alert tone="error">{describeError(plans.error ?? packs.error, t, i18n.language)}</Alert>;
  return (
    <>
      <div className="grid gap-6 md:grid-cols-3">
        {plans.data
          ? plans.data.map((p, i) => (
              <PlanCard
                key={p.id}
                plan={p}
                highlight={i === 1}
                action={
                  <ButtonLink to={cta} variant={i === 1 ? 'primary' : 'secondary'} className="w-full">
                    {t('landing.choosePlan')}
                  </ButtonLink>
                }
              />
            ))
          : [0, 1, 2].map((i) => <Skeleton key={i} className="h-80" />)}
      </div>
      <h3 className="mt-12 text-lg font-semibold">{t('landing.packsTitle')}</h3>
      <p className="mt-1 text-sm text-slate-600">{t('landing.packsIntro')}</p>
      <div className="mt-4 grid gap-4 md:grid-cols-3">
        {packs.data ? packs.data.map((p) => <PackCard key={p.id} pack={p} />) : [0, 1, 2].map((i) => <Skeleton key={i} className="h-20" />)}
      </div>
    </>
  );
}

function Models() {
  const { t, i18n } = useTranslation();
  const models = useModels();
  if (models.isError) return <Alert tone="error">{describeError(models.error, t, i18n.language)}</Alert>;
  return (
    <div className="rounded-xl bg-white p-5 shadow-sm ring-1 ring-slate-200 sm:p-6">
      {models.data ? <ModelsTable models={models.data} /> : <Skeleton className="h-48" />}
      {models.data && <p className="mt-4 text-sm text-slate-600">{t('landing.cloudRule', { multiplier: models.data.cloud_multiplier })}</p>}
    </div>
  );
}

function Examples() {
  const config = useConfig();
  const models = useModels();
  const model = models.data?.data[0]?.id ?? 'llama3.2:3b';
  return <CodeExamples baseURL={config.data?.gateway_url ?? fallbackGateway} model={model} />;
}

export function LandingRoute() {
  const { t } = useTranslation();
  useTitle('');
  const steps = [1, 2, 3] as const;
  return (
    <>
      <section className="bg-gradient-to-b from-brand-50 to-slate-50">
        <div className="mx-auto max-w-6xl px-4 py-16 sm:px-6 sm:py-24">
          <p className="text-sm font-semibold text-brand-700">{t('landing.eyebrow')}</p>
          <h1 className="mt-3 max-w-3xl text-4xl font-bold tracking-tight text-slate-900 sm:text-5xl">{t('landing.title')}</h1>
          <p className="mt-5 max-w-2xl text-lg text-slate-700">{t('landing.subtitle')}</p>
          <div className="mt-8 flex flex-wrap gap-3">
            <ButtonLink to={paths.register} size="lg">
              {t('landing.cta')}
              <ArrowIcon />
            </ButtonLink>
            <ButtonLink to={paths.docs} size="lg" variant="secondary">
              {t('landing.docsCta')}
            </ButtonLink>
          </div>
        </div>
      </section>

      <Section id="how" title={t('landing.howTitle')}>
        <ol className="grid gap-6 md:grid-cols-3">
          {steps.map((n) => (
            <li key={n} className="rounded-xl bg-white p-6 shadow-sm ring-1 ring-slate-200">
              <span className="tabular inline-flex size-8 items-center justify-center rounded-full bg-brand-700 font-semibold text-white">{n}</span>
              <h3 className="mt-4 font-semibold">{t(`landing.step${n}Title`)}</h3>
              <p className="mt-2 text-sm text-slate-600">{t(`landing.step${n}Body`)}</p>
            </li>
          ))}
        </ol>
      </Section>

      <Section id="pricing" title={t('landing.pricingTitle')} intro={t('landing.pricingIntro')}>
        <Pricing />
      </Section>

      <Section id="models" title={t('landing.modelsTitle')} intro={t('landing.modelsIntro')}>
        <Models />
      </Section>

      <Section id="code" title={t('landing.codeTitle')} intro={t('landing.codeIntro')}>
        <Examples />
      </Section>

      <section className="py-14">
        <div className="mx-auto max-w-6xl px-4 sm:px-6">
          <div className="flex flex-col items-start gap-4 rounded-2xl bg-brand-800 px-6 py-10 text-white sm:flex-row sm:items-center sm:justify-between sm:px-10">
            <div>
              <h2 className="text-2xl font-bold">{t('landing.finalTitle')}</h2>
              <p className="mt-1 text-brand-100">{t('landing.finalBody')}</p>
            </div>
            <ButtonLink to={paths.register} size="lg" variant="secondary">
              {t('landing.cta')}
            </ButtonLink>
          </div>
        </div>
      </section>
    </>
  );
}
