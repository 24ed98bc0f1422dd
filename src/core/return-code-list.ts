// JS7 writes return code lists as text (`"0,3..5"`) or as arrays (`[0, [3, 5]]`, a pair being
// an inclusive range). Both read as the text form here.

import type { ReturnCodeList } from './model.js';

/** The text form of a list, or a problem `{index, message}` for a bad array item. */
export function returnCodeListText(list: ReturnCodeList): { text: string } | { index: number; message: string } {
  if (typeof list === 'string') return { text: list };
  if (list.length === 0) return { index: -1, message: 'empty return code list' };
  const parts: string[] = [];
  for (let i = 0; i < list.length; i++) {
    const item: unknown = list[i];
    const isCode = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && Math.abs(v) < 2 ** 31;
    if (isCode(item)) parts.push(String(item));
    else if (Array.isArray(item) && item.length === 2 && isCode(item[0]) && isCode(item[1])) {
      if (item[0] > item[1]) return { index: i, message: `empty return code range [${item[0]}, ${item[1]}]` };
      parts.push(`${item[0]}..${item[1]}`);
    } else return { index: i, message: 'must be a whole number or a pair [from, to]' };
  }
  return { text: parts.join(',') };
}
