import { api } from './api';
import { h } from './dom';
import { oneAtATime, onSubmit } from './form-submit';
import { clearNotice } from './notice';
import { report } from './report';
import type { SessionInfo } from './types';

type Mode = 'login' | 'signup';

const TEXT = {
  login: { title: 'Log in', submit: 'Log in', path: '/api/session', other: 'signup', ask: 'No account yet?', swap: 'Sign up instead' },
  signup: {
    title: 'Sign up',
    submit: 'Create account',
    path: '/api/users',
    other: 'login',
    ask: 'Already have an account?',
    swap: 'Log in instead',
  },
} as const;

function field(label: string, input: HTMLInputElement, hint?: string): HTMLDivElement {
  const wrap = h('div', { className: 'field' }, h('label', { htmlFor: input.id }, label), input);
  if (hint) {
    const hintId = `${input.id}-hint`;
    input.setAttribute('aria-describedby', hintId);
    wrap.append(h('p', { id: hintId, className: 'hint' }, hint));
  }
  return wrap;
}

/** Log-in and sign-up share one form: the same two fields, a different endpoint. */
export function authView(
  onSignedIn: (session: SessionInfo) => void,
  mode: Mode = 'login',
  typed = { email: '', password: '' },
): HTMLElement {
  const text = TEXT[mode];
  const email = h('input', { id: 'auth-email', name: 'email', type: 'email', autocomplete: 'email', required: true, value: typed.email });
  email.setAttribute('autocapitalize', 'none');
  email.spellcheck = false;
  const password = h('input', {
    id: 'auth-password',
    name: 'password',
    type: 'password',
    required: true,
    autocomplete: mode === 'login' ? 'current-password' : 'new-password',
    value: typed.password,
  });
  const submit = h('button', { type: 'submit', className: 'btn primary' }, text.submit);
  const form = h(
    'form',
    { className: 'stack', noValidate: true },
    field('E-mail', email),
    field('Password', password, mode === 'signup' ? '12 to 200 characters.' : undefined),
    h('div', { className: 'actions' }, submit),
  );

  const run = oneAtATime(form, (error, retry) => report(error, { form, retry, loggingIn: true }));
  onSubmit(
    form,
    () =>
      void run(async () => {
        const session = await api<SessionInfo>('POST', text.path, { body: { email: email.value, password: password.value } });
        clearNotice();
        onSignedIn(session);
      }),
  );

  const swap = h('button', { type: 'button', className: 'link' }, text.swap);
  const section = h(
    'section',
    { className: 'card auth', attrs: { 'aria-labelledby': 'auth-title' } },
    h('h2', { id: 'auth-title' }, text.title),
    form,
    h('p', { className: 'swap' }, `${text.ask} `, swap),
  );
  swap.addEventListener('click', () => {
    const next = authView(onSignedIn, text.other, { email: email.value, password: password.value });
    section.replaceWith(next);
    next.querySelector<HTMLInputElement>('#auth-email')?.focus();
  });
  return section;
}
