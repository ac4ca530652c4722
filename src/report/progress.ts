import cliProgress from 'cli-progress';
import type { EngineEvent, OnEvent } from '../engine/events.js';

/**
 * The terminal face: notices as `genesim: ...` lines on stderr, progress events as a bar there
 * when stderr is a terminal (nothing in CI logs and pipes, so redirected output holds only the
 * results). Phases and measurements are left to the results table printed at the end.
 */
export function terminalFace(stream: NodeJS.WriteStream = process.stderr): OnEvent {
  let bar: { label: string; bar: cliProgress.SingleBar; t0: number } | null = null;
  const stopBar = () => {
    bar?.bar.stop();
    bar = null;
  };
  const progress = (e: Extract<EngineEvent, { type: 'progress' }>) => {
    if (!stream.isTTY || e.total <= 0) return;
    if (bar?.label !== e.label) {
      stopBar();
      const unit = e.unit ?? 'rows';
      const b = new cliProgress.SingleBar(
        {
          stream,
          format: `${e.label} [{bar}] {percentage}% | {value}/{total} ${unit}{extra} | {rate} ${unit}/s | ETA {eta_formatted}`,
          hideCursor: true,
          etaBuffer: 50,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      );
      b.start(e.total, 0, { rate: 0, extra: '' });
      bar = { label: e.label, bar: b, t0: Date.now() };
    }
    const seconds = (Date.now() - bar.t0) / 1000;
    const extra = Object.entries(e.extra ?? {})
      .map(([k, v]) => ` | ${k} ${typeof v === 'number' ? v.toLocaleString('en-US') : v}`)
      .join('');
    bar.bar.update(e.done, { rate: seconds > 0 ? Math.round(e.done / seconds).toLocaleString('en-US') : 0, extra });
    if (e.done >= e.total) stopBar();
  };
  // A phase without a bar of its own (a COPY ending, the COMMIT, index builds, the swap wait)
  // shows as one running line, overwritten by what comes next: never a full bar standing for it.
  let running: string | null = null;
  const phase = (e: Extract<EngineEvent, { type: 'phase' }>) => {
    if (!stream.isTTY || bar) return;
    if (e.state === 'start') {
      running = e.name;
      stream.write(`\r\x1b[K${e.name} running…`);
    } else if (running === e.name) {
      running = null;
      stream.write('\r\x1b[K');
    }
  };
  return (e) => {
    switch (e.type) {
      case 'phase':
        return phase(e);
      case 'progress':
        if (running !== null && stream.isTTY) stream.write('\r\x1b[K');
        running = null;
        return progress(e);
      case 'notice':
      case 'error':
        if (running !== null && stream.isTTY) stream.write('\r\x1b[K');
        running = null;
        stopBar();
        return void stream.write(`genesim: ${e.message}\n`);
      case 'result':
        return stopBar();
      default:
        return undefined;
    }
  };
}
