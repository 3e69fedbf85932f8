import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSearchParams } from 'react-router';
import { paths } from '@/config/paths';
import { usePayment } from '@/features/billing/api/get-payment';
import { billingKeys } from '@/features/billing/api/query-keys';
import { describeError } from '@/lib/errors';
import { formatKWD, formatNumber } from '@/lib/format';
import { useTitle } from '@/lib/use-title';
import { Alert } from '@/components/ui/alert';
import { ButtonLink } from '@/components/ui/button';
import { Spinner } from '@/components/ui/spinner';

/** After this long a pending payment stops being polled (the webhook or the portal's re-check settles it). */
const pollFor = 5 * 60_000;
/** After this long the page says it is taking longer than usual. */
const slowAfter = 30_000;

function useElapsed(ms: number): boolean {
  const [done, setDone] = useState(false);
  useEffect(() => {
    const id = setTimeout(() => setDone(true), ms);
    return () => clearTimeout(id);
  }, [ms]);
  return done;
}

/**
 * BillingResultRoute is where MyFatoorah sends the browser back
 * (/billing/result?payment=ID&status=…). The status in the address is
 * only a hint: the page asks the portal, and keeps asking while the
 * payment is pending, since the webhook may arrive after the browser.
 */
export function BillingResultRoute() {
  const { t, i18n } = useTranslation();
  useTitle(t('result.title'));
  const lng = i18n.language;
  const [params] = useSearchParams();
  const id = Number(params.get('payment'));
  const valid = Number.isInteger(id) && id > 0;
  const stop = useElapsed(pollFor);
  const slow = useElapsed(slowAfter);
  const payment = usePayment(valid ? id : 0, !stop);
  const qc = useQueryClient();
  const status = payment.data?.status;
  useEffect(() => {
    // The balance and history changed: refetch them on the next page.
    if (status && status !== 'pending') void qc.invalidateQueries({ queryKey: billingKeys.all, refetchType: 'none' });
  }, [status, qc]);

  let body;
  if (!valid) {
    body = <Alert tone="warning" title={t('result.unknownTitle')}>{t('result.unknownBody')}</Alert>;
  } else if (payment.isError) {
    body = <Alert tone="error">{describeError(payment.error, t, lng)}</Alert>;
  } else if (!payment.data || status === 'pending') {
    body = (
      <div className="flex items-start gap-4" role="status" aria-live="polite">
        <Spinner className="mt-1 size-6 text-brand-700" />
        <div>
          <p className="font-semibold">{t('result.pendingTitle')}</p>
          <p className="mt-1 text-sm text-slate-600">{stop || slow ? t('result.pendingSlow') : t('result.pendingBody')}</p>
        </div>
      </div>
    );
  } else if (status === 'paid') {
    const p = payment.data;
    body = (
      <Alert tone="success" title={t('result.paidTitle')}>
        {t('result.paidBody', { credits: formatNumber(p.credits, lng), amount: formatKWD(p.amount_fils, lng) })}
      </Alert>
    );
  } else if (status === 'failed' || status === 'rejected') {
    body = (
      <Alert tone="error" title={t('result.failedTitle')}>
        {t('result.failedBody')}
        {payment.data.failure_reason && <span className="mt-1 block text-xs">{payment.data.failure_reason}</span>}
      </Alert>
    );
  } else if (status === 'expired') {
    body = <Alert tone="warning" title={t('result.expiredTitle')}>{t('result.expiredBody')}</Alert>;
  } else {
    body = <Alert tone="info" title={t('result.reviewTitle')}>{t('result.reviewBody')}</Alert>;
  }

  return (
    <div className="mx-auto w-full max-w-xl px-4 py-16">
      <div className="rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200 sm:p-8">
        <h1 className="mb-6 text-2xl font-bold tracking-tight">{t('result.title')}</h1>
        <div data-testid="payment-result" data-status={status ?? 'loading'}>
          {body}
        </div>
        <div className="mt-8 flex flex-wrap gap-3">
          <ButtonLink to={paths.dashboard}>{t('result.toDashboard')}</ButtonLink>
          <ButtonLink to={paths.billing} variant="secondary">
            {t('result.toBilling')}
          </ButtonLink>
        </div>
      </div>
    </div>
  );
}
