import type { EngineEvent, OnEvent } from '../engine/events.js';

/**
 * The machine face (`--progress json`): one JSON object a line, each with its time. Progress is
 * thinned to one line per `everyMs` per step (its last one always written), so a run of
 * thousands of rows stays a readable stream for scripts and the server.
 */
export function jsonLinesFace(write: (line: string) => void = (l) => void process.stdout.write(l), everyMs = 500): OnEvent {
  const lastAt = new Map<string, number>();
  return (e: EngineEvent) => {
    if (e.type === 'progress' && e.done < e.total && e.done > 0) {
      const now = Date.now();
      if (now - (lastAt.get(e.label) ?? 0) < everyMs) return;
      lastAt.set(e.label, now);
    }
    write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`);
  };
}
