/**
 * The report's chart as hand-written SVG (no dependency): one horizontal bar per metric on a log
 * scale, showing how many times better tsftpd is than its reference — Pure-FTPd for ratio targets,
 * the limit for absolute ones — with the target marked on each row.
 */
import type { MetricResult } from './metrics.js';

interface Row {
  label: string;
  /** > 1: tsftpd is better than the reference. */
  advantage: number;
  /** Where the target lies on the same scale. */
  target: number | undefined;
  met: boolean | undefined;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function toRow(m: MetricResult): Row | undefined {
  const ts = m.values.tsftpd?.median;
  // Counts of sessions held are pass/fail, not a scale: the table says whether all held.
  if (ts === undefined || m.shared || m.unit === 'sessions') return undefined;
  if (m.ratio !== undefined && m.ratio > 0) {
    const advantage = m.better === 'higher' ? m.ratio : 1 / m.ratio;
    let target: number | undefined;
    if (m.target?.kind === 'ratio') target = m.target.op === '>=' ? m.target.value : 1 / m.target.value;
    return { label: m.label, advantage, target, met: m.met };
  }
  if (m.target?.kind === 'absolute' && ts > 0 && m.target.value > 0) {
    const advantage = m.target.op === '<=' ? m.target.value / ts : ts / m.target.value;
    return { label: `${m.label} (vs ${m.target.text})`, advantage, target: 1, met: m.met };
  }
  return undefined;
}

/** The chart as an SVG document, or undefined when no metric can be charted. */
export function ratioChart(metrics: MetricResult[], title: string): string | undefined {
  const rows = metrics.map(toRow).filter((r): r is Row => r !== undefined);
  if (rows.length === 0) return undefined;
  const values = rows.flatMap((r) => [r.advantage, r.target ?? 1]);
  const lo = Math.min(-1, Math.floor(Math.log10(Math.min(...values))));
  const hi = Math.max(1, Math.ceil(Math.log10(Math.max(...values))));
  const left = 330;
  const right = 860;
  const top = 56;
  const rowH = 26;
  const width = 960;
  const height = top + rows.length * rowH + 44;
  const x = (v: number): number => left + ((Math.log10(v) - lo) / (hi - lo)) * (right - left);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
  );
  out.push(
    `<text x="${width / 2}" y="38" text-anchor="middle" fill="#555">times better than Pure-FTPd (or than the issue's limit), log scale; black tick = target; green = met, red = missed</text>`,
  );
  for (let p = lo; p <= hi; p++) {
    const gx = x(10 ** p).toFixed(1);
    const strong = p === 0;
    out.push(
      `<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${height - 36}" stroke="${strong ? '#333' : '#ddd'}" stroke-width="${strong ? 1.5 : 1}"/>`,
    );
    out.push(
      `<text x="${gx}" y="${height - 20}" text-anchor="middle" fill="#333">${10 ** p >= 1 ? 10 ** p : (10 ** p).toFixed(-p)}×</text>`,
    );
  }
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const x0 = x(1);
    const x1 = x(r.advantage);
    const color = r.met === undefined ? '#999' : r.met ? '#2e8b57' : '#c0392b';
    out.push(`<text x="${left - 8}" y="${y + 16}" text-anchor="end">${esc(r.label)}</text>`);
    out.push(
      `<rect x="${Math.min(x0, x1).toFixed(1)}" y="${y + 4}" width="${Math.max(1, Math.abs(x1 - x0)).toFixed(1)}" height="${rowH - 8}" fill="${color}"/>`,
    );
    if (r.target !== undefined) {
      const tx = x(r.target).toFixed(1);
      out.push(
        `<line x1="${tx}" y1="${y + 1}" x2="${tx}" y2="${y + rowH - 1}" stroke="#000" stroke-width="2.5"/>`,
      );
    }
    const text =
      r.advantage >= 10
        ? r.advantage.toFixed(0)
        : r.advantage >= 1
          ? r.advantage.toFixed(1)
          : r.advantage.toFixed(2);
    out.push(`<text x="${(Math.max(x0, x1) + 6).toFixed(1)}" y="${y + 16}" fill="#222">${text}×</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
