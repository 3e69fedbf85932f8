import { useTranslation } from 'react-i18next';
import { useTitle } from '@/lib/use-title';
import { Markdown } from '@/components/ui/markdown';
import type { LegalDoc } from './legal-docs';

// The legal pages are plain text files per language, editable without
// touching code (src/content/legal/<language>/<page>.md).
const files = import.meta.glob<string>('../../content/legal/*/*.md', { query: '?raw', import: 'default', eager: true });

export function legalText(lng: string, doc: LegalDoc): string {
  return files[`../../content/legal/${lng === 'ar' ? 'ar' : 'en'}/${doc}.md`] ?? '';
}

export function LegalRoute({ doc }: { doc: LegalDoc }) {
  const { t, i18n } = useTranslation();
  useTitle(t(`legal.${doc}`));
  return (
    <article className="mx-auto w-full max-w-3xl px-4 py-10 sm:px-6">
      <div className="rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200 sm:p-10">
        <Markdown text={legalText(i18n.language, doc)} />
      </div>
    </article>
  );
}
