import type { TopLevelSpec } from 'vega-lite';
import type { FloorRecord, SummaryRow } from '../bench/summary.js';
import { median } from '../bench/stats.js';
import { importOptional } from '../optionalImport.js';

export const FLOOR_SERIES = 'floor (server COPY)';

type Vega = typeof import('vega');
type VegaLite = typeof import('vega-lite');
export type ChartRenderer = (rows: SummaryRow[], floors: FloorRecord[]) => Promise<string>;

const NOT_INSTALLED =
  "genesim bench draws report.svg with vega and vega-lite, development dependencies that a production install (npm ci --omit=dev) leaves out: run npm ci in a checkout of genesim to benchmark";

/**
 * The chart libraries, loaded when a bench starts (not when it ends, hours of runs later) and
 * only then: they are development dependencies, and no other command needs them.
 */
export async function loadChartRenderer(): Promise<ChartRenderer> {
  const vega = await importOptional<Vega>('vega', NOT_INSTALLED);
  const { compile } = await importOptional<VegaLite>('vega-lite', NOT_INSTALLED);
  return (rows, floors) => benchChartSvg(vega, compile, rows, floors);
}

/**
 * rows/s per strategy and size on log scales, one panel per latency (and per action), as an
 * SVG rendered in Node by vega (no browser). Projections are hollow points.
 */
async function benchChartSvg(vega: Vega, compile: VegaLite['compile'], rows: SummaryRow[], floors: FloorRecord[]): Promise<string> {
  const points = rows
    .filter((r) => r.rowsPerSecond !== null)
    .map((r) => ({ action: r.action, latency: `${r.latencyMs} ms`, genes: r.genes, series: r.missing ? `${r.strategy}, ${+(r.missing * 100).toFixed(2)} % missing` : r.strategy, rowsPerSecond: r.rowsPerSecond, figure: r.projected ? 'projected' : 'measured' }));
  const panels = [...new Set(points.map((p) => `${p.action}|${p.latency}`))];
  for (const genes of [...new Set(floors.map((f) => f.genes))]) {
    const s = median(floors.filter((f) => f.genes === genes).map((f) => f.seconds));
    for (const panel of panels) {
      const [action, latency] = panel.split('|');
      points.push({ action: action as SummaryRow['action'], latency: latency!, genes, series: FLOOR_SERIES as SummaryRow['strategy'], rowsPerSecond: (genes * genes) / s, figure: 'measured' });
    }
  }
  const series = [...new Set(points.map((p) => p.series))];
  const sizes = [...new Set(points.map((p) => p.genes))].sort((a, b) => a - b);
  const encoding = {
    x: { field: 'genes', type: 'quantitative', scale: { type: 'log', nice: false, padding: 16 }, axis: { title: 'genes (log scale)', values: sizes, labelFontSize: 12, titleFontSize: 13, format: ',d' } },
    y: { field: 'rowsPerSecond', type: 'quantitative', scale: { type: 'log' }, axis: { title: 'similarity rows per second (log scale)', labelFontSize: 12, titleFontSize: 13, format: '~s' } },
    color: { field: 'series', type: 'nominal', scale: { domain: series, scheme: 'category10' }, legend: { title: 'strategy', labelFontSize: 13, titleFontSize: 13, labelLimit: 320 } },
  } as const;
  const tooltip = [{ field: 'series' }, { field: 'genes' }, { field: 'rowsPerSecond', format: ',.0f' }, { field: 'figure' }];
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'genesim bench: similarity rows per second (higher is better)', subtitle: 'filled points measured; hollow points projected from a run stopped at its time budget', fontSize: 15, subtitleFontSize: 12 },
    data: { values: points },
    facet: {
      column: { field: 'latency', type: 'ordinal', title: 'round-trip latency added', header: { labelFontSize: 13, titleFontSize: 13 } },
      row: { field: 'action', type: 'nominal', title: null, header: { labelFontSize: 13 } },
    },
    spec: {
      width: 320,
      height: 260,
      layer: [
        { mark: { type: 'line', strokeWidth: 2 }, encoding },
        // Measured figures filled, projections hollow: two layers, as a mark is filled or not.
        { transform: [{ filter: "datum.figure === 'measured'" }], mark: { type: 'point', size: 80, filled: true }, encoding: { ...encoding, tooltip } },
        { transform: [{ filter: "datum.figure === 'projected'" }], mark: { type: 'point', size: 90, filled: false, strokeWidth: 2.5 }, encoding: { ...encoding, tooltip } },
      ],
    },
    config: { font: 'DejaVu Sans, Helvetica, Arial, sans-serif', background: 'white' },
  } as unknown as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
