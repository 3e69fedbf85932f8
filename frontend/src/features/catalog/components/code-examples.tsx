import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { CopyButton } from '@/components/ui/copy-button';
import { Segmented } from '@/components/ui/segmented';

export const exampleLanguages = ['curl', 'python', 'javascript'] as const;
export type ExampleLanguage = (typeof exampleLanguages)[number];

/** The same chat completion in each language, against the real gateway URL. */
export function exampleCode(lang: ExampleLanguage, baseURL: string, model: string): string {
  switch (lang) {
    case 'curl':
      return `curl ${baseURL}/chat/completions \\
  -H "Authorization: Bearer $RESAYIL_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{"model": "${model}", "messages": [{"role": "user", "content": "Hello"}]}'`;
    case 'python':
      return `import os
from openai import OpenAI

client = OpenAI(base_url="${baseURL}", api_key=os.environ["RESAYIL_API_KEY"])
reply = client.chat.completions.create(
    model="${model}",
    messages=[{"role": "user", "content": "Hello"}],
)
print(reply.choices[0].message.content)`;
    case 'javascript':
      return `import OpenAI from "openai";

const client = new OpenAI({ baseURL: "${baseURL}", apiKey: process.env.RESAYIL_API_KEY });
const reply = await client.chat.completions.create({
  model: "${model}",
  messages: [{ role: "user", content: "Hello" }],
});
console.log(reply.choices[0].message.content);`;
  }
}

/** CodeExamples shows the examples with a language choice and a copy button. */
export function CodeExamples({ baseURL, model }: { baseURL: string; model: string }) {
  const { t } = useTranslation();
  const [lang, setLang] = useState<ExampleLanguage>('curl');
  const code = exampleCode(lang, baseURL, model);
  return (
    <div className="overflow-hidden rounded-xl bg-slate-900 shadow-sm">
      <div className="flex flex-wrap items-center justify-between gap-2 border-b border-slate-700 bg-slate-800 px-4 py-2">
        <Segmented
          label={t('code.language')}
          value={lang}
          onChange={setLang}
          options={[
            { value: 'curl', label: 'curl' },
            { value: 'python', label: 'Python' },
            { value: 'javascript', label: 'JavaScript' },
          ]}
        />
        <CopyButton text={code} label={t('code.copy')} />
      </div>
      <pre dir="ltr" className="overflow-x-auto p-4 text-start text-sm leading-relaxed text-slate-100" tabIndex={0} aria-label={t('code.example')}>
        <code>{code}</code>
      </pre>
    </div>
  );
}
