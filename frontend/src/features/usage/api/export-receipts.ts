import { useMutation } from '@tanstack/react-query';
import { api } from '@/lib/auth';
import { rangeWindow, type UsageRange } from './range';

/** exportReceipts downloads the range's receipts as CSV (the portal streams it). */
export async function exportReceipts(range: UsageRange, now = new Date()): Promise<{ blob: Blob; filename: string }> {
  const w = rangeWindow(range, now);
  const { blob, filename } = await api.blob('/api/v1/usage/requests.csv', { query: { from: w.from, to: w.to } });
  return { blob, filename: filename ?? `usage-${range}.csv` };
}

/** saveFile hands a blob to the browser as a download. */
export function saveFile(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function useExportReceipts() {
  return useMutation({
    mutationFn: (range: UsageRange) => exportReceipts(range),
    onSuccess: ({ blob, filename }) => saveFile(blob, filename),
  });
}
