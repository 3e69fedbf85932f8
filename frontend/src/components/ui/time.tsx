import { useTranslation } from 'react-i18next';
import { formatDateTime, formatRelative } from '@/lib/format';

/** A time shown relative when recent ("3 minutes ago"), exact on hover. */
export function RelativeTime({ iso }: { iso: string }) {
  const { i18n } = useTranslation();
  return (
    <time dateTime={iso} title={formatDateTime(iso, i18n.language)}>
      {formatRelative(iso, i18n.language)}
    </time>
  );
}
