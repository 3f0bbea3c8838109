import { api } from './api';
import { h, randomKey, uid } from './dom';
import { showFormError } from './form-errors';
import { oneAtATime, onSubmit } from './form-submit';
import { announce } from './notice';
import { report } from './report';
import type { Job } from './types';

const count = new Intl.NumberFormat();

// A file's type as the API reads it: browsers give none for .ndjson.
const typeOf = (file: File) => (/\.csv$/i.test(file.name) || file.type === 'text/csv' ? 'text/csv' : 'application/x-ndjson');

/**
 * Export (two downloads) and import: a file is uploaded, then a progress bar
 * follows the job's events stream until a summary (with the lines that could
 * not be imported) replaces it. `imported`: the list should be read again.
 */
export function importExport(imported: () => void): HTMLElement {
  const file = h('input', {
    id: uid('import-file'),
    type: 'file',
    name: 'file',
    accept: '.ndjson,.jsonl,.csv,application/x-ndjson,text/csv',
  });
  file.setAttribute('aria-describedby', 'import-hint');
  const bar = h('progress', { max: 1, value: 0, hidden: true });
  bar.setAttribute('aria-label', 'Import progress');
  const progressText = h('p', { className: 'hint', hidden: true });
  const summary = h('div', { className: 'import-summary', hidden: true, tabIndex: -1 });
  const form = h(
    'form',
    { className: 'stack', noValidate: true },
    h(
      'div',
      { className: 'field' },
      h('label', { htmlFor: file.id }, 'Import todos'),
      file,
      h('p', { id: 'import-hint', className: 'hint' }, 'An export of this site (NDJSON or CSV) or a Todoist CSV, up to 10 MiB.'),
    ),
    h('div', { className: 'actions' }, h('button', { type: 'submit', className: 'btn' }, 'Import')),
    bar,
    progressText,
    summary,
  );

  const show = (job: Job) => {
    const { done, total } = job.progress;
    bar.hidden = false;
    progressText.hidden = false;
    bar.max = Math.max(1, total ?? 1);
    bar.value = Math.min(done, bar.max);
    progressText.textContent = total ? `${count.format(done)} of ${count.format(total)} lines` : 'Waiting to start…';
  };

  const finish = (job: Job) => {
    bar.hidden = true;
    progressText.hidden = true;
    const { created, skipped, invalid, invalid_count } = job.result;
    const lines = [
      job.state === 'failed' ? `The import failed: ${job.error ?? 'unknown reason'}` : 'Import finished.',
      `${count.format(created)} todos added, ${count.format(skipped)} already there, ${count.format(invalid_count)} lines could not be read.`,
    ];
    const list = h('ul', { className: 'invalid-lines' }, ...invalid.map((l) => h('li', {}, `Line ${l.line}: ${l.errors.join('; ')}`)));
    summary.replaceChildren(...lines.map((text) => h('p', {}, text)), ...(invalid.length > 0 ? [list] : []));
    summary.hidden = false;
    summary.focus();
    announce(lines.join(' '));
    if (created > 0) imported();
  };

  // The browser's EventSource reconnects by itself (after a reload of the
  // server, say) and the server answers a reconnect with the current state.
  const follow = (job: Job) =>
    new Promise<void>((resolve) => {
      show(job);
      const events = new EventSource(`/api/jobs/${encodeURIComponent(job.id)}/events`);
      events.addEventListener('progress', (e) => show(JSON.parse((e as MessageEvent<string>).data) as Job));
      events.addEventListener('done', (e) => {
        events.close();
        finish(JSON.parse((e as MessageEvent<string>).data) as Job);
        resolve();
      });
    });

  const run = oneAtATime(form, (error, retry) => report(error, { form, retry, failed: 'Nothing was imported.' }));
  onSubmit(form, () => {
    const chosen = file.files?.[0];
    if (!chosen) {
      showFormError(form, 'Choose a file to import.');
      file.focus();
      return;
    }
    summary.hidden = true;
    // One key per chosen file: a retry after a lost answer gets the same job.
    const key = randomKey();
    void run(async () => {
      const job = await api<Job>('POST', '/api/todos/import', {
        upload: { file: chosen, type: typeOf(chosen) },
        headers: { 'Idempotency-Key': key },
      });
      announce('Import started.');
      await follow(job);
      file.value = '';
    });
  });

  return h(
    'section',
    { className: 'card stack import-export' },
    h('h2', {}, 'Import and export'),
    h(
      'p',
      {},
      'Download all your todos: ',
      h('a', { href: '/api/todos/export', download: '' }, 'NDJSON'),
      ' or ',
      h('a', { href: '/api/todos/export?format=csv', download: '' }, 'CSV'),
      '.',
    ),
    form,
  );
}
