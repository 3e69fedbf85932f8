// A small Markdown renderer for the app's own text files (API docs, legal
// pages): headings, paragraphs, lists, fenced code, tables, **bold**,
// `code` and [links](…). It builds React elements, never HTML strings, so
// nothing in a file can run as script (and the CSP forbids it anyway).
import { Fragment, type ReactNode } from 'react';
import { Link } from 'react-router';
import { CopyButton } from './copy-button';

type Block =
  | { kind: 'heading'; level: 1 | 2 | 3; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'list'; ordered: boolean; items: string[] }
  | { kind: 'code'; lang: string; text: string }
  | { kind: 'table'; head: string[]; rows: string[][] }
  | { kind: 'slot'; name: string };

const cells = (line: string) =>
  line
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((c) => c.trim());

/** parseMarkdown splits text into blocks. A line `{{slot:name}}` is a slot for a component. */
export function parseMarkdown(src: string): Block[] {
  const lines = src.replace(/\r\n/g, '\n').split('\n');
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) {
      i++;
      continue;
    }
    const fence = /^```(\w*)\s*$/.exec(line);
    if (fence) {
      const body: string[] = [];
      i++;
      while (i < lines.length && !/^```\s*$/.test(lines[i])) body.push(lines[i++]);
      i++;
      blocks.push({ kind: 'code', lang: fence[1], text: body.join('\n') });
      continue;
    }
    const slot = /^\{\{slot:([\w-]+)\}\}\s*$/.exec(line);
    if (slot) {
      blocks.push({ kind: 'slot', name: slot[1] });
      i++;
      continue;
    }
    const h = /^(#{1,3})\s+(.*)$/.exec(line);
    if (h) {
      blocks.push({ kind: 'heading', level: h[1].length as 1 | 2 | 3, text: h[2].trim() });
      i++;
      continue;
    }
    if (/^\s*\|/.test(line) && i + 1 < lines.length && /^\s*\|?\s*:?-{3,}/.test(lines[i + 1])) {
      const head = cells(line);
      const rows: string[][] = [];
      i += 2;
      while (i < lines.length && /^\s*\|/.test(lines[i])) rows.push(cells(lines[i++]));
      blocks.push({ kind: 'table', head, rows });
      continue;
    }
    const item = /^\s*([-*]|\d+\.)\s+(.*)$/.exec(line);
    if (item) {
      const ordered = /\d/.test(item[1]);
      const items: string[] = [];
      while (i < lines.length) {
        const m = /^\s*([-*]|\d+\.)\s+(.*)$/.exec(lines[i]);
        if (m) items.push(m[2]);
        else if (lines[i].trim() && /^\s{2,}/.test(lines[i])) items[items.length - 1] += ` ${lines[i].trim()}`;
        else break;
        i++;
      }
      blocks.push({ kind: 'list', ordered, items });
      continue;
    }
    const para: string[] = [];
    while (i < lines.length && lines[i].trim() && !/^(#{1,3}\s|```|\s*([-*]|\d+\.)\s|\s*\||\{\{slot:)/.test(lines[i])) para.push(lines[i++].trim());
    blocks.push({ kind: 'paragraph', text: para.join(' ') });
  }
  return blocks;
}

/** inline renders **bold**, `code` and [text](href) within a line. */
export function inline(text: string): ReactNode[] {
  const out: ReactNode[] = [];
  const re = /(\*\*([^*]+)\*\*|`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\))/g;
  let last = 0;
  let m: RegExpExecArray | null;
  let k = 0;
  while ((m = re.exec(text))) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[2] !== undefined) out.push(<strong key={k++}>{m[2]}</strong>);
    else if (m[3] !== undefined)
      out.push(
        <code key={k++} dir="ltr" className="rounded bg-slate-100 px-1 py-0.5 text-[0.9em]">
          {m[3]}
        </code>,
      );
    else {
      const href = m[5];
      const cls = 'font-medium text-brand-700 underline hover:text-brand-900';
      out.push(
        href.startsWith('/') ? (
          <Link key={k++} to={href} className={cls}>
            {m[4]}
          </Link>
        ) : /^(https?:|mailto:)/.test(href) ? (
          <a key={k++} href={href} className={cls} rel="noopener noreferrer">
            {m[4]}
          </a>
        ) : (
          m[4]
        ),
      );
    }
    last = re.lastIndex;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[`*]/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-|-$/g, '');
}

/** Markdown renders text; `vars` fill {{name}} placeholders, `slots` fill {{slot:name}} lines. */
export function Markdown({ text, vars = {}, slots = {} }: { text: string; vars?: Record<string, string>; slots?: Record<string, ReactNode> }) {
  const filled = text.replace(/\{\{(\w+)\}\}/g, (all, name: string) => vars[name] ?? all);
  return (
    <div className="space-y-4 leading-relaxed text-slate-800">
      {parseMarkdown(filled).map((b, i) => {
        switch (b.kind) {
          case 'heading': {
            const id = slug(b.text);
            if (b.level === 1)
              return (
                <h1 key={i} id={id} className="text-3xl font-bold tracking-tight text-slate-900">
                  {inline(b.text)}
                </h1>
              );
            if (b.level === 2)
              return (
                <h2 key={i} id={id} className="scroll-mt-20 pt-6 text-xl font-semibold text-slate-900">
                  {inline(b.text)}
                </h2>
              );
            return (
              <h3 key={i} id={id} className="scroll-mt-20 pt-2 font-semibold text-slate-900">
                {inline(b.text)}
              </h3>
            );
          }
          case 'paragraph':
            return <p key={i}>{inline(b.text)}</p>;
          case 'list': {
            const Tag = b.ordered ? 'ol' : 'ul';
            return (
              <Tag key={i} className={`${b.ordered ? 'list-decimal' : 'list-disc'} space-y-1 ps-6`}>
                {b.items.map((it, j) => (
                  <li key={j}>{inline(it)}</li>
                ))}
              </Tag>
            );
          }
          case 'code':
            return (
              <div key={i} className="overflow-hidden rounded-lg bg-slate-900">
                <div className="flex justify-end border-b border-slate-700 bg-slate-800 px-3 py-1.5">
                  <CopyButton text={b.text} />
                </div>
                <pre dir="ltr" tabIndex={0} className="overflow-x-auto p-4 text-start text-sm leading-relaxed text-slate-100">
                  <code>{b.text}</code>
                </pre>
              </div>
            );
          case 'table':
            return (
              <div key={i} className="overflow-x-auto rounded-lg ring-1 ring-slate-200" tabIndex={0} role="region" aria-label={b.head.join(', ')}>
                <table className="min-w-full text-sm">
                  <thead className="bg-slate-50">
                    <tr>
                      {b.head.map((h, j) => (
                        <th key={j} scope="col" className="px-3 py-2 text-start font-semibold whitespace-nowrap">
                          {inline(h)}
                        </th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {b.rows.map((r, j) => (
                      <tr key={j} className="border-t border-slate-100">
                        {r.map((c, k) => (
                          <td key={k} className="px-3 py-2 align-top">
                            {inline(c)}
                          </td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            );
          case 'slot':
            return <Fragment key={i}>{slots[b.name] ?? null}</Fragment>;
        }
      })}
    </div>
  );
}
