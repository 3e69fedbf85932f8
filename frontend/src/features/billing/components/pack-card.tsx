import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { formatKWD, formatNumber } from '@/lib/format';
import type { Pack } from '@/types/api';

/** PackCard shows one top-up pack: credits and price. */
export function PackCard({ pack, action }: { pack: Pack; action?: ReactNode }) {
  const { t, i18n } = useTranslation();
  return (
    <article className="flex items-center justify-between gap-4 rounded-xl bg-white p-5 shadow-sm ring-1 ring-slate-200">
      <div>
        <h3 className="font-semibold">{t('packs.credits', { credits: formatNumber(pack.credits, i18n.language) })}</h3>
        <p className="tabular mt-1 text-slate-700">{formatKWD(pack.price_fils, i18n.language)}</p>
      </div>
      {action}
    </article>
  );
}
