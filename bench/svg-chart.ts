/** A small grouped bar chart as SVG text: panels side by side, each with its own y scale. */
export interface Panel {
  readonly title: string;
  readonly unit: string;
  /** Bar groups (x axis), e.g. p50 and p99. */
  readonly groups: readonly string[];
  /** One value per series per group: values[series][group]. */
  readonly values: readonly (readonly number[])[];
}

const COLORS = ['#4c78a8', '#f58518', '#54a24b', '#e45756'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** A round axis step (1, 2 or 5 × 10^k) that cuts [0, max] into about four parts. */
function niceStep(max: number): number {
  const rough = max / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  return ([1, 2, 5, 10].find((m) => m * power >= rough) ?? 10) * power;
}

export function barChart(title: string, series: readonly string[], panels: readonly Panel[], note: string): string {
  const panelW = 320;
  const panelH = 220;
  const top = 70;
  const left = 60;
  const width = left + panels.length * (panelW + 40);
  const height = top + panelH + 80;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${esc(title)}</text>`,
  ];
  series.forEach((s, i) => {
    const x = left + i * 150;
    out.push(`<rect x="${x}" y="38" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`, `<text x="${x + 18}" y="48">${esc(s)}</text>`);
  });
  panels.forEach((panel, p) => {
    const x0 = left + p * (panelW + 40);
    const step = niceStep(Math.max(...panel.values.flat()) || 1);
    const ticks = Math.ceil((Math.max(...panel.values.flat()) * 1.1) / step);
    const max = ticks * step;
    const y = (v: number) => top + panelH - (v / max) * panelH;
    out.push(`<text x="${x0 + panelW / 2}" y="${top - 6}" text-anchor="middle" font-weight="bold">${esc(panel.title)}</text>`);
    out.push(`<line x1="${x0}" y1="${top + panelH}" x2="${x0 + panelW}" y2="${top + panelH}" stroke="#333"/>`, `<line x1="${x0}" y1="${top}" x2="${x0}" y2="${top + panelH}" stroke="#333"/>`);
    for (let k = 0; k <= ticks; k++) {
      const v = k * step;
      out.push(`<text x="${x0 - 6}" y="${y(v) + 4}" text-anchor="end" fill="#555">${Number(v.toPrecision(3))}</text>`, `<line x1="${x0}" y1="${y(v)}" x2="${x0 + panelW}" y2="${y(v)}" stroke="#eee"/>`);
    }
    out.push(`<text x="${x0 - 44}" y="${top + panelH / 2}" transform="rotate(-90 ${x0 - 44} ${top + panelH / 2})" text-anchor="middle" fill="#555">${esc(panel.unit)}</text>`);
    const groupW = panelW / panel.groups.length;
    const barW = (groupW * 0.7) / series.length;
    panel.groups.forEach((g, gi) => {
      const gx = x0 + gi * groupW + groupW * 0.15;
      series.forEach((_, si) => {
        const v = panel.values[si][gi];
        const bx = gx + si * barW;
        out.push(`<rect x="${bx.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(top + panelH - y(v)).toFixed(1)}" fill="${COLORS[si % COLORS.length]}"/>`);
        out.push(`<text x="${(bx + barW / 2 - 1).toFixed(1)}" y="${(y(v) - 4).toFixed(1)}" text-anchor="middle" font-size="10">${v.toFixed(v < 10 ? 1 : 0)}</text>`);
      });
      out.push(`<text x="${gx + (barW * series.length) / 2}" y="${top + panelH + 16}" text-anchor="middle">${esc(g)}</text>`);
    });
  });
  out.push(`<text x="${width / 2}" y="${height - 16}" text-anchor="middle" fill="#555" font-size="11">${esc(note)}</text>`, '</svg>');
  return `${out.join('\n')}\n`;
}

/** A band of the x axis to shade and label, e.g. a phase of a run. */
export interface Band {
  readonly from: number;
  readonly to: number;
  readonly label: string;
}

/**
 * A line chart as SVG text: one or more series over a shared x axis (e.g. seconds), with
 * optional shaded bands (phases) behind them.
 */
export function lineChart(title: string, axes: { x: string; y: string }, series: readonly { name: string; points: readonly (readonly [number, number])[] }[], bands: readonly Band[], note: string): string {
  const width = 760;
  const height = 360;
  const left = 70;
  const top = 60;
  const plotW = width - left - 30;
  const plotH = height - top - 80;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xMax = Math.max(...xs, ...bands.map((b) => b.to), 1);
  const yStep = niceStep(Math.max(...ys, 1));
  const yMax = Math.ceil((Math.max(...ys, 1) * 1.1) / yStep) * yStep;
  const x = (v: number) => left + (v / xMax) * plotW;
  const y = (v: number) => top + plotH - (v / yMax) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${esc(title)}</text>`,
  ];
  bands.forEach((b, i) => {
    out.push(`<rect x="${x(b.from).toFixed(1)}" y="${top}" width="${(x(b.to) - x(b.from)).toFixed(1)}" height="${plotH}" fill="${i % 2 === 0 ? '#f3f3f3' : '#e6eef7'}"/>`);
    out.push(`<text x="${((x(b.from) + x(b.to)) / 2).toFixed(1)}" y="${top + 14}" text-anchor="middle" fill="#555" font-size="11">${esc(b.label)}</text>`);
  });
  for (let v = 0; v <= yMax + 1e-9; v += yStep) {
    out.push(`<line x1="${left}" y1="${y(v).toFixed(1)}" x2="${left + plotW}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`, `<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#555">${Number(v.toPrecision(3))}</text>`);
  }
  const xStep = niceStep(xMax);
  for (let v = 0; v <= xMax + 1e-9; v += xStep) out.push(`<text x="${x(v).toFixed(1)}" y="${top + plotH + 16}" text-anchor="middle" fill="#555">${Number(v.toPrecision(3))}</text>`);
  out.push(`<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#333"/>`, `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#333"/>`);
  out.push(`<text x="${left + plotW / 2}" y="${top + plotH + 36}" text-anchor="middle" fill="#555">${esc(axes.x)}</text>`);
  out.push(`<text x="18" y="${top + plotH / 2}" transform="rotate(-90 18 ${top + plotH / 2})" text-anchor="middle" fill="#555">${esc(axes.y)}</text>`);
  series.forEach((s, i) => {
    const path = s.points.map((p, k) => `${k === 0 ? 'M' : 'L'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
    out.push(`<path d="${path}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="2"/>`);
    out.push(`<rect x="${left + i * 160}" y="36" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`, `<text x="${left + i * 160 + 18}" y="46">${esc(s.name)}</text>`);
  });
  out.push(`<text x="${width / 2}" y="${height - 12}" text-anchor="middle" fill="#555" font-size="11">${esc(note)}</text>`, '</svg>');
  return `${out.join('\n')}\n`;
}
