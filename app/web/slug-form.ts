import { api } from './api';
import { h } from './dom';
import { clearErrors } from './form-errors';
import { oneAtATime, onSubmit } from './form-submit';
import { announce } from './notice';
import { report } from './report';
import { currentSession, setSession } from './session';
import type { User } from './types';

const publicPath = (slug: string) => `/u/${encodeURIComponent(slug)}`;

/** Publishing the list read-only at /u/<slug>, or taking it down again. */
export function slugForm(user: User): HTMLElement {
  const input = h('input', { id: 'public-slug', name: 'public_slug', autocomplete: 'off', value: user.public_slug ?? '' });
  input.setAttribute('autocapitalize', 'none');
  input.spellcheck = false;
  input.setAttribute('aria-describedby', 'public-slug-hint');
  const save = h('button', { type: 'submit', className: 'btn primary' });
  const unpublish = h('button', { type: 'button', className: 'btn' }, 'Unpublish');
  const link = h('a', {});
  const published = h('p', { className: 'published' }, 'Your list is public at ', link, '.');
  const form = h(
    'form',
    { className: 'stack', noValidate: true },
    h(
      'div',
      { className: 'field' },
      h('label', { htmlFor: input.id }, 'Public address'),
      h('div', { className: 'inline prefixed' }, h('span', { className: 'prefix', attrs: { 'aria-hidden': 'true' } }, '/u/'), input),
      h('p', { id: 'public-slug-hint', className: 'hint' }, '3 to 40 lowercase letters, digits and hyphens. Leave empty to unpublish.'),
    ),
    h('div', { className: 'actions' }, save, unpublish),
  );

  const show = (slug: string | null) => {
    save.textContent = slug ? 'Save' : 'Publish';
    unpublish.hidden = slug === null;
    published.hidden = slug === null;
    if (slug) {
      link.href = publicPath(slug);
      link.textContent = `${location.origin}${publicPath(slug)}`;
    }
  };

  const run = oneAtATime(form, (error, retry) => report(error, { form, retry, failed: 'The public address was not changed.' }));
  const send = (slug: string | null) =>
    run(async () => {
      const { user: saved } = await api<{ user: User }>('PATCH', '/api/me', { body: { public_slug: slug } });
      const session = currentSession();
      if (session) setSession({ ...session, user: saved });
      input.value = saved.public_slug ?? '';
      show(saved.public_slug);
      announce(saved.public_slug ? `Published at ${publicPath(saved.public_slug)}.` : 'Your list is no longer public.');
      if (!saved.public_slug) input.focus();
    });

  onSubmit(form, () => {
    const slug = input.value.trim();
    void send(slug === '' ? null : slug);
  });
  unpublish.addEventListener('click', () => {
    clearErrors(form);
    void send(null);
  });
  show(user.public_slug);

  return h(
    'section',
    { className: 'card', attrs: { 'aria-labelledby': 'public-title' } },
    h('h2', { id: 'public-title' }, 'Public list'),
    h('p', { className: 'hint' }, 'Anyone with the address can read your list; only you can change it.'),
    form,
    published,
  );
}
