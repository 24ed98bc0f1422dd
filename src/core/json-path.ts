// JSON paths in problems: `instructions[1].lockedWorkflow`, `jobs["my job"]`, `$` for the document.

const SIMPLE_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `join('', 'a')` = `a`; `join('a', 'b')` = `a.b`; `join('a', 'x-y')` = `a["x-y"]`. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  const seg = SIMPLE_KEY.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (base === '' || base === '$') return seg.startsWith('[') ? `$${seg}` : seg;
  return seg.startsWith('[') ? base + seg : `${base}.${seg}`;
}
