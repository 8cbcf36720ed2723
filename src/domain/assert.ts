/**
 * Assertions for invariants. A broken invariant in a state machine is a crash with a message,
 * never a wrong balance (STYLE.md). Kept tiny so that V8 inlines it on hot paths.
 */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}
