/** A todo's text cut short for button names and messages, where 1000 characters would drown the point. */
export function short(content: string, max = 40): string {
  const chars = [...content];
  return chars.length <= max ? content : `${chars.slice(0, max - 1).join('')}…`;
}
