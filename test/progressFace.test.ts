import assert from 'node:assert/strict';
import { terminalFace } from '../src/report/progress.js';

/** A terminal as the face sees it: isTTY, and everything written kept. */
function terminal(): { stream: NodeJS.WriteStream; text: () => string } {
  let out = '';
  const stream = { isTTY: true, columns: 100, write: (s: string) => ((out += s), true) } as unknown as NodeJS.WriteStream;
  return { stream, text: () => out };
}

describe('terminal progress face', () => {
  it('a phase without rows (the COMMIT) shows as running until it ends, then its line is cleared', () => {
    const t = terminal();
    const face = terminalFace(t.stream);
    face({ type: 'phase', name: 'copyfromfile_commit', state: 'start' });
    assert.match(t.text(), /copyfromfile_commit running…$/);
    face({ type: 'phase', name: 'copyfromfile_commit', state: 'end', seconds: 1.5, count: 1 });
    assert.ok(t.text().endsWith('\r\x1b[K'), JSON.stringify(t.text()));
  });

  it('prints nothing for phases when stderr is not a terminal', () => {
    const t = terminal();
    (t.stream as { isTTY: boolean }).isTTY = false;
    const face = terminalFace(t.stream);
    face({ type: 'phase', name: 'copyfromfile_commit', state: 'start' });
    assert.equal(t.text(), '');
  });
});
