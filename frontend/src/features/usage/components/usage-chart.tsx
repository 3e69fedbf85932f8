// Loaded lazily (Chart.js is the largest library of the app): the
// dashboard's first paint does not wait for it.
import { BarController, BarElement, CategoryScale, Chart as ChartJS, Legend, LinearScale, Tooltip } from 'chart.js';
import { Bar } from 'react-chartjs-2';
import { useTranslation } from 'react-i18next';
import { formatBucket, formatCompact, formatNumber } from '@/lib/format';
import type { UsageSummary } from '@/types/api';

ChartJS.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

export type UsageView = 'requests' | 'credits';

const localColor = '#0d9488';
const cloudColor = '#0284c7';

/** Requests (or credits) per bucket, local and cloud stacked. */
export function UsageChart({ summary, view }: { summary: UsageSummary; view: UsageView }) {
  const { t, i18n } = useTranslation();
  const lng = i18n.language;
  const rtl = i18n.dir(lng) === 'rtl';
  const font = typeof document === 'undefined' ? undefined : getComputedStyle(document.body).fontFamily;
  const labels = summary.buckets.map((b) => formatBucket(b.start, summary.granularity, lng));
  const local = summary.buckets.map((b) => (view === 'requests' ? b.local_requests : b.local_credits));
  const cloud = summary.buckets.map((b) => (view === 'requests' ? b.cloud_requests : b.cloud_credits));
  const total = (view === 'requests' ? summary.totals.requests : summary.totals.credits) || 0;
  return (
    <div className="relative h-64 w-full sm:h-72">
      <Bar
        role="img"
        aria-label={t(view === 'requests' ? 'usage.chartRequests' : 'usage.chartCredits', { total: formatNumber(total, lng) })}
        data={{
          labels,
          datasets: [
            { label: t('usage.local'), data: local, backgroundColor: localColor, borderRadius: 3, stack: 'usage' },
            { label: t('usage.cloud'), data: cloud, backgroundColor: cloudColor, borderRadius: 3, stack: 'usage' },
          ],
        }}
        options={{
          maintainAspectRatio: false,
          animation: false,
          locale: lng === 'ar' ? 'ar-KW-u-nu-latn' : 'en-GB',
          font: font ? { family: font } : undefined,
          interaction: { mode: 'index', intersect: false },
          plugins: {
            legend: { position: 'bottom', rtl, labels: { boxWidth: 12, font: font ? { family: font } : undefined } },
            tooltip: {
              rtl,
              callbacks: { label: (c) => `${c.dataset.label}: ${formatNumber(Number(c.raw), lng)}` },
            },
          },
          scales: {
            x: { stacked: true, reverse: rtl, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12, font: font ? { family: font } : undefined } },
            y: {
              stacked: true,
              beginAtZero: true,
              position: rtl ? 'right' : 'left',
              ticks: { precision: 0, callback: (v) => formatCompact(Number(v), lng), font: font ? { family: font } : undefined },
            },
          },
        }}
      />
    </div>
  );
}
