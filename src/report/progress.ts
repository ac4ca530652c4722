import cliProgress from 'cli-progress';

export interface Progress {
  /** Adds done units; `extra` fills named fields of the bar's format. */
  tick(units: number, extra?: Record<string, string | number>): void;
  stop(): void;
}

const SILENT: Progress = { tick: () => undefined, stop: () => undefined };

/**
 * A progress bar on stderr, or nothing when stderr is not a terminal (CI logs, pipes), so
 * redirected output holds only the results.
 */
export function progressBar(label: string, total: number, format?: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY || total <= 0) return SILENT;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: format ?? `${label} [{bar}] {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}`,
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const t0 = Date.now();
  let done = 0;
  bar.start(total, 0, { rate: 0 });
  return {
    tick(units, extra) {
      done += units;
      const seconds = (Date.now() - t0) / 1000;
      bar.update(done, { rate: seconds > 0 ? Math.round(done / seconds).toLocaleString('en-US') : 0, ...extra });
    },
    stop() {
      bar.stop();
    },
  };
}
