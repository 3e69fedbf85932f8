import { useTranslation } from 'react-i18next';
import { updateMe } from '@/features/auth/api/update-me';
import { session, useSession } from '@/lib/auth';
import { rememberLanguage, switchLanguage, type Language } from '@/lib/i18n';
import { GlobeIcon } from '@/components/ui/icons';

const names: Record<Language, string> = { en: 'English', ar: 'العربية' };

/**
 * LanguageSwitch offers the other language. Signed in, the choice is the
 * account's locale (so WhatsApp messages follow it too).
 */
export function LanguageSwitch({ className }: { className?: string }) {
  const { i18n } = useTranslation();
  const s = useSession();
  const other: Language = i18n.language === 'ar' ? 'en' : 'ar';
  async function change() {
    rememberLanguage(other);
    await switchLanguage(i18n, other);
    if (s.status === 'signed-in') {
      try {
        session.setUser(await updateMe({ locale: other }));
      } catch {
        // The page is in the new language; the account keeps the old one
        // until the next change succeeds.
      }
    }
  }
  return (
    <button
      type="button"
      onClick={change}
      lang={other}
      className={`inline-flex h-9 items-center gap-1.5 rounded-lg px-2.5 text-sm font-medium text-slate-700 hover:bg-slate-100 ${className ?? ''}`}
    >
      <GlobeIcon />
      {names[other]}
    </button>
  );
}
