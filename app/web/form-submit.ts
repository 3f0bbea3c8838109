import { clearErrors } from './form-errors';

/**
 * Runs a form's submissions one at a time, marked aria-busy meanwhile
 * (disabling the button would drop keyboard focus). A failure goes to
 * `failed` with a retry that runs the same attempt again.
 */
export function oneAtATime(form: HTMLFormElement, failed: (error: unknown, retry: () => void) => void) {
  let busy = false;
  const run = async (attempt: () => Promise<void>): Promise<void> => {
    if (busy) return;
    busy = true;
    form.setAttribute('aria-busy', 'true');
    try {
      await attempt();
    } catch (error) {
      failed(error, () => void run(attempt));
    } finally {
      busy = false;
      form.removeAttribute('aria-busy');
    }
  };
  return run;
}

/** Handles submit in the page, after clearing the form's old messages. */
export function onSubmit(form: HTMLFormElement, handler: () => void): void {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors(form);
    handler();
  });
}
