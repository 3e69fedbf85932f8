import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';

/** Sets the tab's title: "Page · Resayil". */
export function useTitle(title: string): void {
  const { t } = useTranslation();
  useEffect(() => {
    document.title = title ? `${title} · ${t('brand')}` : t('brand');
  }, [title, t]);
}
