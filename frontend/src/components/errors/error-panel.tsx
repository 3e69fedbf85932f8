import { useTranslation } from 'react-i18next';
import { describeError } from '@/lib/errors';
import { ApiError } from '@/lib/api-client';
import { Button } from '@/components/ui/button';

/** A lazily loaded part of the app failed to download (a new deploy, offline). */
function isChunkError(err: unknown): boolean {
  return err instanceof Error && /dynamically imported module|Importing a module script failed|Failed to fetch/i.test(err.message);
}

export function ErrorPanel({ error, onRetry }: { error: unknown; onRetry: () => void }) {
  const { t, i18n } = useTranslation();
  const chunk = isChunkError(error);
  return (
    <div role="alert" className="mx-auto max-w-lg rounded-xl bg-white p-8 text-center shadow-sm ring-1 ring-slate-200">
      <h1 className="text-xl font-semibold">{t('errors.pageTitle')}</h1>
      <p className="mt-2 text-slate-600">{chunk ? t('errors.chunk') : error instanceof ApiError ? describeError(error, t, i18n.language) : t('errors.unexpected')}</p>
      <div className="mt-6 flex justify-center gap-3">
        {chunk ? (
          <Button onClick={() => location.reload()}>{t('errors.reload')}</Button>
        ) : (
          <Button onClick={onRetry}>{t('errors.retry')}</Button>
        )}
      </div>
    </div>
  );
}
