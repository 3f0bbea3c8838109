import { h } from './dom';

// The page-wide message area (#notice in index.html) for failures that are
// not about one form field, and #status for quiet confirmations.

let countdown: ReturnType<typeof setInterval> | undefined;

export function announce(text: string): void {
  const status = document.getElementById('status');
  if (status) status.textContent = text;
}

export function clearNotice(): void {
  clearInterval(countdown);
  const box = document.getElementById('notice');
  if (box) {
    box.replaceChildren();
    box.hidden = true;
  }
}

/**
 * Shows a failure with a Retry button when retrying can help. The button
 * stays disabled, counting down, until the server's Retry-After has passed,
 * and takes focus so a keyboard user can act on it at once.
 */
export function showNotice(text: string, options: { retry?: (() => void) | undefined; retryAfter?: number | null } = {}): void {
  const box = document.getElementById('notice');
  if (!box) return;
  clearNotice();
  const message = h('p', { className: 'notice-text', attrs: { role: 'alert' } }, text);
  const actions = h('div', { className: 'actions' });
  const retry = options.retry;
  if (retry) {
    const button = h(
      'button',
      {
        type: 'button',
        className: 'btn primary',
        onclick: () => {
          clearNotice();
          retry();
        },
      },
      'Retry',
    );
    actions.append(button);
    wait(button, options.retryAfter ?? 0);
  }
  actions.append(h('button', { type: 'button', className: 'btn', onclick: clearNotice }, 'Dismiss'));
  box.replaceChildren(message, actions);
  box.hidden = false;
  box.querySelector<HTMLButtonElement>('button:not([disabled])')?.focus();
}

function wait(button: HTMLButtonElement, seconds: number): void {
  let left = seconds;
  const tick = () => {
    if (left <= 0) {
      clearInterval(countdown);
      button.disabled = false;
      button.textContent = 'Retry';
      return;
    }
    button.disabled = true;
    button.textContent = `Retry in ${left} s`;
    left -= 1;
  };
  tick();
  if (seconds > 0) countdown = setInterval(tick, 1000);
}
