/**
 * Building short ASCII strings (clientOrderIds) from bytes without waste: one scratch array of
 * char codes per length, filled and handed to String.fromCharCode.apply, so that making the string
 * allocates only the string itself. Appending a character at a time makes a new string per
 * character (and a cons string past 12), several times slower.
 */
import { CLIENT_ORDER_ID_LENGTH_MAX } from './commands.ts';

/** CHAR_CODE_SCRATCH[n]: n char codes, for a string of length n (0..CLIENT_ORDER_ID_LENGTH_MAX). */
export const CHAR_CODE_SCRATCH: readonly number[][] = Array.from({ length: CLIENT_ORDER_ID_LENGTH_MAX + 1 }, (_, length) =>
  new Array<number>(length).fill(0),
);
