// Elements are built with properties and text nodes only: user text never
// passes through an HTML parser, so it cannot become markup.

type Child = Node | string | null | undefined | false;
type Props<K extends keyof HTMLElementTagNameMap> = Partial<Omit<HTMLElementTagNameMap[K], 'style'>> & { attrs?: Record<string, string> };

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props<K> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  const { attrs, ...rest } = props;
  Object.assign(el, rest);
  for (const [name, value] of Object.entries(attrs ?? {})) el.setAttribute(name, value);
  for (const child of children) if (child) el.append(child);
  return el;
}

/** Text for screen readers that sighted users get from the layout. */
export const hidden = (text: string) => h('span', { className: 'visually-hidden' }, text);

let next = 0;
/** Ids for label/aria wiring; unique within the page's life. */
export const uid = (prefix: string) => `${prefix}-${++next}`;

/** A random Idempotency-Key; crypto.randomUUID needs a secure context, this does not. */
export function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

export function timeOf(iso: string, prefix: string): HTMLTimeElement {
  const date = new Date(iso);
  return h('time', { dateTime: iso, title: fullFormat.format(date) }, `${prefix} ${dateFormat.format(date)}`);
}
