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

/**
 * For invariants whose message names values: `if (!(condition)) invariantBroken(\`...\`)`.
 * A template literal passed to assert() is built on every call, even when the condition holds;
 * on a hot path that is an allocation and a string format per check. This builds it only on failure.
 */
export function invariantBroken(message: string): never {
  throw new InvariantError(message);
}
