import { h } from './dom';
import { fieldErrorText, type FieldError } from './problem';

// Validation messages sit under the field they concern and are tied to it
// with aria-describedby, so a screen reader reads them with the field.

type Control = HTMLInputElement | HTMLTextAreaElement;

const errorIdOf = (control: Control) => `${control.id}-error`;

function describedBy(control: Control, id: string, on: boolean): void {
  const ids = new Set((control.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean));
  if (on) ids.add(id);
  else ids.delete(id);
  if (ids.size) control.setAttribute('aria-describedby', [...ids].join(' '));
  else control.removeAttribute('aria-describedby');
}

export function clearErrors(form: HTMLFormElement): void {
  for (const el of form.querySelectorAll('.field-error, .form-error')) el.remove();
  for (const control of form.querySelectorAll<Control>('[aria-invalid]')) {
    control.removeAttribute('aria-invalid');
    describedBy(control, errorIdOf(control), false);
  }
}

/** Places each error under its field; returns the texts of those with no field here. */
export function showFieldErrors(form: HTMLFormElement, errors: FieldError[]): string[] {
  const unplaced: string[] = [];
  let first: Control | undefined;
  for (const error of errors) {
    const control = form.elements.namedItem(error.field);
    const text = fieldErrorText(error);
    if (!(control instanceof HTMLInputElement || control instanceof HTMLTextAreaElement)) {
      unplaced.push(text);
      continue;
    }
    const id = errorIdOf(control);
    const existing = document.getElementById(id);
    if (existing) existing.append(` ${text}`);
    else (control.closest('.field') ?? control).after(h('p', { id, className: 'field-error' }, text));
    control.setAttribute('aria-invalid', 'true');
    describedBy(control, id, true);
    first ??= control;
  }
  first?.focus();
  return unplaced;
}

export function showFormError(form: HTMLFormElement, text: string): void {
  form.append(h('p', { className: 'form-error', attrs: { role: 'alert' } }, text));
}
