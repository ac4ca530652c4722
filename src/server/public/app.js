// The status page of `genesim serve`: polls the JSON API and renders it. Plain browser JS with
// no build step and no network but this server. Everything shown is built with DOM nodes and
// textContent, never innerHTML: job errors, file names and URLs are data, not markup.
'use strict';

const TOKEN_KEY = 'genesim.token';
const POLL_MS = 1000;
const MATRIX_EVERY_POLLS = 5;
// The server validates these too and names the allowed values on a 400; the page offers the same lists.
const STRATEGIES = {
  create: ['parallel', 'copyfromfile', 'copyfrom', 'bulk', 'baseline'],
  update: ['parallel', 'upsert', 'copyfromfile', 'copyfrom', 'bulk', 'baseline'],
};
const DEFAULT_SOURCE = { create: 'file', update: 'database' };
const ACTIVE = new Set(['queued', 'running']);
const SVG_NS = 'http://www.w3.org/2000/svg';

const $ = (selector) => document.querySelector(selector);

/** A DOM element; strings and numbers among the children become text nodes. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  for (const c of children) {
    if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  if (text !== undefined) node.textContent = text;
  return node;
}

function setAttrs(node, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.setAttribute('class', v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
}

// ---------- formatting ----------

const int = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : '–');

function seconds(s) {
  if (typeof s !== 'number') return '–';
  if (s < 10) return `${s.toFixed(2)} s`;
  if (s < 120) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

function when(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay ? d.toLocaleTimeString() : d.toLocaleString();
}

function elapsed(job) {
  if (!job.startedAt) return null;
  // A job whose server died ran until its last heartbeat, not until someone noticed.
  const end = job.finishedAt ? new Date(job.finishedAt) : new Date();
  const last = died(job) && job.heartbeatAt ? new Date(Math.min(end.getTime(), new Date(job.heartbeatAt).getTime())) : end;
  return Math.max(0, (last.getTime() - new Date(job.startedAt).getTime()) / 1000);
}

/** Failed because its server stopped beating (the sweep's words), not by an error of its own. */
function died(job) {
  return job.state === 'failed' && typeof job.error === 'string' && job.error.startsWith('no heartbeat since');
}

function describeSource(p) {
  if (p.genes !== undefined && p.genes !== null) return `${int(p.genes)} synthetic genes`;
  if (!p.source || p.source === 'database') return 'from the database';
  return String(p.source);
}

function jobTitle(job) {
  const p = job.parameters || {};
  const parts = [job.action, p.strategy, p.metric, describeSource(p)];
  if (p.changedOnly) parts.push('changed only');
  if (p.threads) parts.push(`${p.threads} threads`);
  return parts.filter(Boolean).join(' · ');
}

// ---------- API ----------

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

class AuthError extends Error {}

async function api(path, { method = 'GET', body } = {}) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { error: text };
  }
  if (res.status === 401) throw new AuthError((data && data.error) || 'token refused');
  return { status: res.status, data };
}

// ---------- notices ----------

/** One line above the page; `from` lets a later success clear only the trouble it ended. */
function notice(text, kind = 'info', from = 'page') {
  const p = $('#notice');
  p.hidden = !text;
  p.textContent = text || '';
  p.className = `notice ${kind}`;
  p.dataset.from = from;
}

// ---------- the matrix ----------

function renderMatrix(m) {
  const fields = {
    genes: int(m.genes),
    datasets: int(m.datasets),
    // Past a million rows the server gives the planner's count, not count(*).
    rows: m.rowsEstimated ? `≈ ${int(m.rows)}` : int(m.rows),
    metric: m.metric || '–',
    updatedAt: when(m.updatedAt),
    writtenBy: writtenBy(m.lastWrite),
  };
  for (const [k, v] of Object.entries(fields)) document.querySelector(`#matrix [data-field="${k}"]`).textContent = v;
}

/** Which run wrote the matrix last: a server job by its number, a CLI run by its command. */
function writtenBy(w) {
  if (!w) return '–';
  const what = `${w.action} ${w.strategy} ${w.source}`;
  const who = w.jobId === null || w.jobId === undefined ? `a CLI run (${what})` : `job #${w.jobId} (${what})`;
  return `${who}, ${int(w.rowsWritten)} rows in ${seconds(w.seconds)}`;
}

// ---------- similar genes ----------

async function searchGene(event) {
  event.preventDefault();
  const out = $('#similar-result');
  const name = $('#gene-name').value.trim();
  if (!name) return;
  if (!token()) {
    out.replaceChildren(el('p', { class: 'error' }, 'Type the token first.'));
    return;
  }
  const top = Number($('#gene-top').value) || 10;
  out.replaceChildren(el('p', { class: 'muted' }, `Searching ${name}…`));
  try {
    const { status, data } = await api(`/genes/${encodeURIComponent(name)}/similar?top=${encodeURIComponent(top)}`);
    if (status === 200) out.replaceChildren(similarNode(data));
    else out.replaceChildren(similarError(data, status));
  } catch (err) {
    out.replaceChildren();
    handleError(err);
  }
}

function similarNode(a) {
  const gene = `${a.gene.systematicName}${a.gene.commonName ? ` (${a.gene.commonName})` : ''}`;
  const rows = a.similar.map((s) =>
    el('tr', { 'data-gene': s.systematicName }, el('td', { class: 'num' }, s.rank), el('td', {}, s.systematicName), el('td', {}, s.commonName || ''), el('td', { class: 'num score' }, s.score.toFixed(3))),
  );
  return el(
    'table',
    { class: 'similar', 'data-gene': a.gene.systematicName },
    el('caption', {}, `${a.similar.length} genes most similar to ${gene} by ${a.metric}`),
    el('thead', {}, el('tr', {}, el('th', {}, 'rank'), el('th', {}, 'gene'), el('th', {}, 'common name'), el('th', {}, 'score'))),
    el('tbody', {}, ...rows),
  );
}

/** The server's one line, and the names it suggests as buttons that search them. */
function similarError(data, status) {
  const p = el('p', { class: 'error' }, (data && data.error) || `the server answered ${status}`);
  const suggestions = (data && data.suggestions) || [];
  if (suggestions.length === 0) return p;
  const pick = (name) => () => {
    $('#gene-name').value = name;
    $('#gene-search').requestSubmit();
  };
  return el('div', {}, p, el('p', { class: 'suggestions' }, 'Try: ', ...suggestions.map((n) => el('button', { type: 'button', class: 'suggestion', onclick: pick(n) }, n))));
}

// ---------- jobs ----------

const rendered = new Map(); // id -> { json, node }

function progressOf(job) {
  if (job.state === 'succeeded') return 1;
  if (typeof job.rowsTotal === 'number' && job.rowsTotal > 0 && typeof job.rowsDone === 'number') {
    // All rows counted while the job still runs (its COPY ending, a COMMIT, indexes, the swap):
    // running, not done, so no full bar before the job has succeeded.
    if (job.rowsDone >= job.rowsTotal && ACTIVE.has(job.state)) return null;
    return Math.min(1, job.rowsDone / job.rowsTotal);
  }
  return null;
}

function progressBar(job) {
  const p = progressOf(job);
  const bar = el('div', { class: 'bar' });
  if (p !== null) bar.style.width = `${(p * 100).toFixed(1)}%`;
  return el(
    'div',
    {
      class: `progress${p === null && ACTIVE.has(job.state) ? ' indeterminate' : ''}`,
      role: 'progressbar',
      'aria-valuemin': 0,
      'aria-valuemax': 100,
      'aria-valuenow': p === null ? undefined : Math.round(p * 100),
    },
    bar,
  );
}

function jobMeta(job) {
  const bits = [];
  // A finished job's last phase is history, except where a failure stopped it.
  if (job.phase && ACTIVE.has(job.state)) bits.push(el('span', {}, 'phase ', el('b', { class: 'phase' }, job.phase)));
  if (job.phase && job.state === 'failed') bits.push(el('span', {}, 'failed in ', el('b', { class: 'phase' }, job.phase)));
  if (typeof job.rowsTotal === 'number') bits.push(el('span', { class: 'rows' }, `${int(job.rowsDone ?? 0)} / ${int(job.rowsTotal)} ${job.progressUnit ?? 'rows'}`));
  if (ACTIVE.has(job.state) && typeof job.etaSeconds === 'number') bits.push(el('span', {}, `ETA ${seconds(job.etaSeconds)}`));
  bits.push(el('span', {}, `queued ${when(job.createdAt)}`));
  const took = elapsed(job);
  if (took !== null) bits.push(el('span', { class: 'took' }, died(job) ? `ran ${seconds(took)} until its last heartbeat` : `${job.finishedAt ? 'took' : 'running for'} ${seconds(took)}`));
  const meta = el('div', { class: 'job-meta' });
  bits.forEach((b, i) => meta.append(...(i ? [' · ', b] : [b])));
  return meta;
}

/** Phase timings as horizontal bars; the total (and counters without a time) as a caption. */
function timingsChart(job) {
  const timings = (job.timings || []).filter((t) => typeof t.seconds === 'number');
  // A running job: the phases ended so far, and the current one growing from its start.
  const current = ACTIVE.has(job.state) && job.phase && job.phaseStartedAt
    ? { metric: job.phase, seconds: Math.max(0, (Date.now() - new Date(job.phaseStartedAt).getTime()) / 1000), count: null, current: true }
    : null;
  if (current) timings.push(current);
  if (timings.length === 0) return null;
  const prefix = `${(job.parameters && job.parameters.strategy) || ''}_`;
  const label = (m) => (prefix.length > 1 && m.startsWith(prefix) ? m.slice(prefix.length) : m);
  const total = timings.find((t) => /(^|_)total$/.test(t.metric));
  const phases = timings.filter((t) => t !== total);
  if (phases.length === 0 && !total) return null;
  const max = Math.max(...phases.map((t) => t.seconds), 1e-9);
  const rowH = 20;
  const labelW = 190;
  const barW = 330;
  const width = labelW + barW + 80;
  const height = phases.length * rowH + 4;
  const chart = svg('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': `phase timings of job ${job.id}` });
  phases.forEach((t, i) => {
    const y = i * rowH + 2;
    const w = Math.max(1, (t.seconds / max) * barW);
    const g = svg('g', { class: `phase-bar${t.current ? ' current' : ''}`, 'data-metric': t.metric });
    g.append(
      svg('title', {}, t.current ? `${t.metric}: running for ${seconds(t.seconds)}` : `${t.metric}: ${seconds(t.seconds)}, count ${int(t.count)}`),
      svg('text', { x: labelW - 8, y: y + rowH / 2, 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'label' }, label(t.metric)),
      svg('rect', { x: labelW, y: y + 3, width: w.toFixed(1), height: rowH - 6, rx: 2 }),
      svg('text', { x: labelW + w + 6, y: y + rowH / 2, 'dominant-baseline': 'middle', class: 'value' }, seconds(t.seconds)),
    );
    chart.append(g);
  });
  const caption = el('figcaption', {}, total ? `total ${seconds(total.seconds)} for ${int(total.count)} rows` : current ? `phase timings so far: ${label(current.metric)} running for ${seconds(current.seconds)}` : 'phase timings');
  return el('figure', { class: 'timings' }, caption, chart);
}

function jobNode(job) {
  const cancel = ACTIVE.has(job.state)
    ? el('button', { type: 'button', class: 'cancel', onclick: () => cancelJob(job.id) }, 'Cancel')
    : null;
  return el(
    'li',
    { class: `job state-${job.state}`, 'data-job-id': job.id, 'data-state': job.state },
    el('div', { class: 'job-head' }, el('span', { class: 'job-id' }, `#${job.id}`), el('span', { class: 'job-title' }, jobTitle(job)), el('span', { class: 'badge state' }, job.state), cancel),
    jobMeta(job),
    progressBar(job),
    job.error ? el('pre', { class: 'error' }, job.error) : null,
    timingsChart(job),
  );
}

function renderJobs(jobs) {
  const list = $('#job-list');
  const seen = new Set();
  let previous = null;
  for (const job of jobs) {
    seen.add(job.id);
    const json = JSON.stringify(job);
    let entry = rendered.get(job.id);
    // A running job's elapsed time moves every second even when its row does not.
    if (!entry || entry.json !== json || ACTIVE.has(job.state)) {
      const node = jobNode(job);
      if (entry) entry.node.replaceWith(node);
      entry = { json, node };
      rendered.set(job.id, entry);
    }
    const want = previous ? previous.nextSibling : list.firstChild;
    if (want !== entry.node) list.insertBefore(entry.node, want);
    previous = entry.node;
  }
  for (const [id, entry] of rendered) {
    if (!seen.has(id)) {
      entry.node.remove();
      rendered.delete(id);
    }
  }
  $('#jobs-empty').hidden = jobs.length > 0;
  $('#jobs-updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
}

async function cancelJob(id) {
  try {
    const { status, data } = await api(`/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST' });
    if (status >= 400) notice(`cancel #${id}: ${(data && data.error) || status}`, 'error');
  } catch (err) {
    handleError(err);
  }
  poll.now();
}

// ---------- the form ----------

function fillStrategies(action) {
  const select = $('#strategy');
  const current = select.value;
  select.replaceChildren(...STRATEGIES[action].map((s) => el('option', { value: s }, s)));
  if (STRATEGIES[action].includes(current)) select.value = current;
}

function showSourceInputs() {
  const kind = $('#source-kind').value;
  for (const label of document.querySelectorAll('[data-source]')) label.hidden = label.dataset.source !== kind;
  const action = selectedAction();
  for (const label of document.querySelectorAll('[data-action]')) label.hidden = label.dataset.action !== action;
}

function selectedAction() {
  return document.querySelector('input[name="action"]:checked').value;
}

function jobRequest() {
  const action = selectedAction();
  const body = { action, strategy: $('#strategy').value, metric: $('#metric').value };
  const threads = $('#threads').value.trim();
  if (threads) body.threads = Number(threads);
  const kind = $('#source-kind').value;
  if (kind === 'database') body.source = 'database';
  if (kind === 'file') body.source = $('#source-file').value.trim();
  if (kind === 'url') body.source = $('#source-url').value.trim();
  if (kind === 'synthetic') body.genes = Number($('#genes').value);
  if (action === 'update') body.changedOnly = $('#changed-only').checked;
  return body;
}

async function submitJob(event) {
  event.preventDefault();
  const result = $('#form-result');
  if (!token()) {
    result.textContent = 'Type the token first.';
    result.className = 'form-result error';
    return;
  }
  const button = $('#submit');
  button.disabled = true;
  result.textContent = 'Starting…';
  result.className = 'form-result';
  try {
    const { status, data } = await api('/jobs', { method: 'POST', body: jobRequest() });
    if (status === 202) {
      result.textContent = `Job #${data.id} ${data.state}.`;
      result.className = 'form-result ok';
    } else if (status === 409) {
      result.textContent = `Refused: job #${data.runningJobId} is running. ${data.error || ''}`.trim();
      result.className = 'form-result error';
    } else {
      result.textContent = `Refused (${status}): ${(data && data.error) || 'no reason given'}`;
      result.className = 'form-result error';
    }
  } catch (err) {
    handleError(err);
  } finally {
    button.disabled = false;
  }
  poll.now();
}

// ---------- token and polling ----------

/** The token field as the stored token stands; `hint` asks for one when there is none. */
function showTokenState(hint = true) {
  const has = Boolean(token());
  $('#token').placeholder = has ? 'token kept in this tab' : 'GENESIM_TOKEN';
  $('#token-forget').hidden = !has;
  if (!has && hint) notice('Type the service token (GENESIM_TOKEN) to see and start jobs; it is kept in this tab only.');
}

function handleError(err) {
  if (err instanceof AuthError) {
    notice(`The server refused the token: ${err.message}. Type it again.`, 'error');
    sessionStorage.removeItem(TOKEN_KEY);
    showTokenState(false);
  } else {
    notice(`Cannot reach the server: ${err.message}`, 'error', 'poll');
  }
}

async function checkHealth() {
  const badge = $('#health');
  try {
    const res = await fetch('/healthz', { cache: 'no-store' });
    const ok = res.ok && (await res.json()).ok === true;
    badge.textContent = ok ? 'server up' : `server answered ${res.status}`;
    badge.className = `health ${ok ? 'up' : 'down'}`;
  } catch {
    badge.textContent = 'server unreachable';
    badge.className = 'health down';
  }
}

const poll = (() => {
  let timer = null;
  let count = 0;
  const finished = new Set();
  async function tick() {
    clearTimeout(timer);
    if (token()) {
      try {
        const { status, data } = await api('/jobs');
        if (status !== 200) throw new Error(`GET /jobs answered ${status}`);
        const jobs = data.jobs || [];
        renderJobs(jobs);
        // A job that just succeeded changed the matrix: fetch it now rather than at the next round.
        let fresh = false;
        for (const j of jobs) {
          if (j.state === 'succeeded' && !finished.has(j.id)) {
            finished.add(j.id);
            fresh = true;
          }
        }
        if (fresh || count % MATRIX_EVERY_POLLS === 0) {
          const m = await api('/matrix');
          if (m.status === 200) renderMatrix(m.data);
        }
        if ($('#notice').dataset.from === 'poll') notice('');
        count += 1;
      } catch (err) {
        handleError(err);
        await checkHealth();
      }
    }
    timer = setTimeout(tick, POLL_MS);
  }
  return { now: tick };
})();

function init() {
  fillStrategies('create');
  $('#source-kind').value = DEFAULT_SOURCE.create;
  showSourceInputs();
  for (const radio of document.querySelectorAll('input[name="action"]')) {
    radio.addEventListener('change', () => {
      fillStrategies(selectedAction());
      $('#source-kind').value = DEFAULT_SOURCE[selectedAction()];
      showSourceInputs();
    });
  }
  $('#source-kind').addEventListener('change', showSourceInputs);
  $('#job-form').addEventListener('submit', submitJob);
  $('#gene-search').addEventListener('submit', searchGene);
  $('#token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = $('#token').value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    $('#token').value = '';
    notice('');
    showTokenState();
    poll.now();
  });
  $('#token-forget').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showTokenState();
  });
  showTokenState();
  checkHealth();
  setInterval(checkHealth, 15000);
  poll.now();
}

document.addEventListener('DOMContentLoaded', init);
