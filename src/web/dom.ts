/** Small DOM helpers. Every piece of stored data reaches the page as text, never as markup. */

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** `h('a', { href: '#/' }, 'Home')`: attributes, `on*` listeners, and text or node children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') node.addEventListener(name.slice(2), value);
    else if (name === 'class') node.className = String(value);
    else if (value === true) node.setAttribute(name, '');
    else node.setAttribute(name, String(value));
  }
  append(node, children);
  return node;
}

export function append(node: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

export function clear(node: Node): void {
  while (node.firstChild) node.removeChild(node.firstChild);
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`The page has no #${id}`);
  return node as T;
}

/** Moves focus to `node` (made focusable when it is not). */
export function focus(node: HTMLElement | null | undefined): void {
  if (!node) return;
  if (!node.hasAttribute('tabindex') && !/^(A|BUTTON|INPUT|SELECT|TEXTAREA)$/.test(node.tagName)) node.setAttribute('tabindex', '-1');
  node.focus();
}

export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let i = -1;
  do {
    value /= 1024;
    i++;
  } while (value >= 1024 && i < units.length - 1);
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[i]}`;
}

const DATE_FORMAT = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** A `<time>` element showing a local date and time, with the exact instant as its title. */
export function time(iso: string): HTMLTimeElement {
  const date = new Date(iso);
  return h('time', { datetime: iso, title: iso }, Number.isNaN(date.getTime()) ? iso : DATE_FORMAT.format(date));
}

/** A button that copies `text` and says so; `label` is its visible text, `name` a fuller accessible name. */
export function copyButton(text: string, label: string, say: (message: string) => void, name?: string): HTMLButtonElement {
  return h('button', {
    type: 'button',
    class: 'copy',
    'aria-label': name,
    'data-copy': text,
    onclick: () => {
      navigator.clipboard.writeText(text).then(
        () => say('Copied to the clipboard.'),
        () => say('The browser did not allow copying: select the text and copy it instead.'),
      );
    },
  }, label);
}
