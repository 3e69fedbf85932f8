import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { describeError } from '@/lib/errors';
import { formatKWD, formatNumber } from '@/lib/format';
import { Alert } from '@/components/ui/alert';
import { Button, type ButtonVariant } from '@/components/ui/button';
import { cn } from '@/components/ui/cn';
import { Dialog } from '@/components/ui/dialog';
import { PlusIcon } from '@/components/ui/icons';
import { SkeletonRows } from '@/components/ui/skeleton';
import { useCheckout } from '../api/checkout';
import { usePacks } from '../api/get-packs';

/**
 * QuickTopUp: choose a pack, then off to MyFatoorah's payment page; the
 * browser comes back to /billing/result, which waits for the payment.
 */
export function QuickTopUp({ variant = 'primary' }: { variant?: ButtonVariant }) {
  const { t, i18n } = useTranslation();
  const [open, setOpen] = useState(false);
  const packs = usePacks();
  const checkout = useCheckout();
  const [choice, setChoice] = useState<number | null>(null);
  const selected = choice ?? packs.data?.[0]?.id ?? null;
  const lng = i18n.language;
  return (
    <>
      <Button variant={variant} onClick={() => setOpen(true)}>
        <PlusIcon />
        {t('topup.button')}
      </Button>
      <Dialog
        open={open}
        onClose={() => {
          setOpen(false);
          checkout.reset();
        }}
        title={t('topup.title')}
        footer={
          <>
            <Button variant="secondary" onClick={() => setOpen(false)}>
              {t('common.cancel')}
            </Button>
            <Button
              disabled={selected === null}
              loading={checkout.isPending || checkout.isSuccess}
              onClick={() => selected !== null && checkout.mutate({ kind: 'topup', pack_id: selected })}
            >
              {t('topup.pay')}
            </Button>
          </>
        }
      >
        <p>{t('topup.intro')}</p>
        {checkout.isError && (
          <Alert tone="error" className="mt-3">
            {describeError(checkout.error, t, lng)}
          </Alert>
        )}
        {packs.isError && (
          <Alert tone="error" className="mt-3">
            {describeError(packs.error, t, lng)}
          </Alert>
        )}
        {!packs.data && !packs.isError && (
          <div className="mt-4">
            <SkeletonRows rows={3} label={t('common.loading')} />
          </div>
        )}
        {packs.data && (
          <fieldset className="mt-4 space-y-2">
            <legend className="sr-only">{t('topup.choose')}</legend>
            {packs.data.map((p) => (
              <label
                key={p.id}
                className={cn(
                  'flex cursor-pointer items-center justify-between gap-3 rounded-lg px-4 py-3 ring-1',
                  selected === p.id ? 'bg-brand-50 ring-2 ring-brand-600' : 'ring-slate-200 hover:bg-slate-50',
                )}
              >
                <span className="flex items-center gap-3">
                  <input type="radio" name="pack" value={p.id} checked={selected === p.id} onChange={() => setChoice(p.id)} className="accent-brand-700" />
                  <span className="font-medium text-slate-900">{t('packs.credits', { credits: formatNumber(p.credits, lng) })}</span>
                </span>
                <span className="tabular text-slate-700">{formatKWD(p.price_fils, lng)}</span>
              </label>
            ))}
          </fieldset>
        )}
        <p className="mt-4 text-xs text-slate-600">{t('topup.secure')}</p>
      </Dialog>
    </>
  );
}
