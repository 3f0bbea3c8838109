import { clearErrors, showFieldErrors, showFormError } from './form-errors';
import { clearNotice, showNotice } from './notice';
import { ApiError, errorText } from './problem';

type Context = {
  /** Validation and other non-retryable errors are shown in this form. */
  form?: HTMLFormElement;
  /** Offered when retrying can succeed (offline, 429, 5xx). */
  retry?: () => void;
  /** What a 404 means here, e.g. that a todo was deleted elsewhere. */
  notFound?: string;
  /** A 401 from log-in is a wrong password, not an ended session. */
  loggingIn?: boolean;
  /** What did not happen, said before why, e.g. "“milk” was not deleted." */
  failed?: string;
};

let sessionEnded: () => void = () => undefined;

export function onSessionEnded(handler: () => void): void {
  sessionEnded = handler;
}

/** Shows an API failure where it belongs. Anything else is a bug and is rethrown. */
export function report(error: unknown, context: Context = {}): void {
  if (!(error instanceof ApiError)) throw error;
  if (error.status === 401 && !context.loggingIn) {
    sessionEnded();
    return;
  }
  const { form } = context;
  if (form && !error.retryable) {
    clearNotice();
    clearErrors(form);
    const unplaced = showFieldErrors(form, error.problem?.errors ?? []);
    const placedAll = (error.problem?.errors?.length ?? 0) > 0 && unplaced.length === 0;
    if (!placedAll) showFormError(form, unplaced.join(' ') || errorText(error, context));
    return;
  }
  const text = errorText(error, context);
  showNotice(context.failed ? `${context.failed} ${text}` : text, {
    retry: error.retryable ? context.retry : undefined,
    retryAfter: error.retryAfter,
  });
}
