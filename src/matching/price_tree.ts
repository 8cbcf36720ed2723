/**
 * Price tree: the sorted set of price levels of one book side, as an AVL tree over preallocated
 * typed arrays, threaded with a doubly-linked list in key order.
 *
 * Why this shape: the best level must be O(1) (it is read on every command), a new level must cost
 * no more than O(log levels) however far from the touch it lands, and walks in priority order (depth
 * views, FOK checks, snapshots) must be O(1) per step. A balanced tree gives the second, the thread
 * gives the first and the third. All trees of all markets share one node arena (`PriceTreeNodes`)
 * sized once from the limits, so a new level never allocates and memory is bounded.
 *
 * Keys are "priority keys": smaller is better. The order book stores an ask at +price and a bid at
 * −price, so `first` is always the best level and `next` always walks away from the touch.
 *
 * A node index doubles as the level handle: the order book keeps its per-level data in its own
 * arrays indexed by the same number. Typed-array reads carry `!` because `noUncheckedIndexedAccess`
 * cannot know that every index used here came from this arena.
 */
import { InvariantError, assert } from '../domain/assert.ts';

/** "No node": the empty child, the end of the thread, the end of the free list. */
export const NIL = -1;

/**
 * An AVL tree of height h holds at least fib(h + 2) − 1 nodes, so 64 levels of path cover any
 * arena that fits in memory (fib(66) ≈ 2.7e13 nodes).
 */
const PATH_DEPTH_MAX = 64;
/** Arenas are indexed by Int32; an AVL tree of n nodes is at most 1.4405·log2(n + 2) high. */
const NODES_MAX = 2 ** 31 - 1;
assert(Math.ceil(1.4405 * Math.log2(NODES_MAX + 2)) < PATH_DEPTH_MAX, 'PriceTree: path scratch too short for the largest arena');

function fail(message: string): never {
  throw new InvariantError(message);
}

/** The shared node arena: keys, children, heights, thread links and a free list. */
export class PriceTreeNodes {
  readonly capacity: number;
  readonly key: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly height: Int8Array;
  /** In-order thread; also chains the free list through `next`. */
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** Scratch path from the root, shared by all trees (the engine is single-threaded). */
  readonly path: Int32Array;
  /** Released nodes, chained through `next`; NIL when none. */
  private freeHead: number;
  /** Nodes [0, highWater) have been handed out at least once. */
  private highWater = 0;
  private usedCount = 0;

  constructor(capacity: number) {
    assert(Number.isInteger(capacity) && capacity >= 1, 'PriceTreeNodes: capacity must be a positive integer');
    assert(capacity <= NODES_MAX, 'PriceTreeNodes: capacity must fit an Int32 index');
    this.capacity = capacity;
    this.key = new Float64Array(capacity);
    this.left = new Int32Array(capacity);
    this.right = new Int32Array(capacity);
    this.height = new Int8Array(capacity);
    this.next = new Int32Array(capacity);
    this.prev = new Int32Array(capacity);
    this.path = new Int32Array(PATH_DEPTH_MAX);
    // Nodes never used are handed out from the high-water mark, so construction touches no memory
    // (an arena sized from ordersOpenMax is tens of MiB; its pages are faulted in only as used).
    this.freeHead = NIL;
  }

  get used(): number {
    return this.usedCount;
  }

  allocate(key: number): number {
    let node = this.freeHead;
    if (node !== NIL) {
      this.freeHead = this.next[node]!;
    } else {
      if (this.highWater >= this.capacity) fail(`PriceTreeNodes: all ${this.capacity} level nodes are in use (sized from ordersOpenMax)`);
      node = this.highWater;
      this.highWater += 1;
    }
    this.key[node] = key;
    this.left[node] = NIL;
    this.right[node] = NIL;
    this.height[node] = 1;
    this.next[node] = NIL;
    this.prev[node] = NIL;
    this.usedCount += 1;
    return node;
  }

  release(node: number): void {
    // Height 0 marks a free node, which lets checks catch a double release or use after release.
    if (this.height[node] === 0) fail('PriceTreeNodes: node released twice');
    this.height[node] = 0;
    this.left[node] = NIL;
    this.right[node] = NIL;
    this.prev[node] = NIL;
    this.next[node] = this.freeHead;
    this.freeHead = node;
    this.usedCount -= 1;
  }

  isUsed(node: number): boolean {
    return node >= 0 && node < this.capacity && this.height[node]! > 0;
  }
}

/** One sorted set of unique keys (one book side). Iterative: no recursion on the hot path. */
export class PriceTree {
  readonly nodes: PriceTreeNodes;
  private root = NIL;
  private firstNode = NIL;
  private lastNode = NIL;
  private sizeCount = 0;

  constructor(nodes: PriceTreeNodes) {
    this.nodes = nodes;
  }

  get size(): number {
    return this.sizeCount;
  }

  /** The smallest key (the best level), NIL when empty. O(1). */
  first(): number {
    return this.firstNode;
  }

  /** The largest key (the worst level), NIL when empty. O(1). */
  last(): number {
    return this.lastNode;
  }

  /** The node after `node` in key order, NIL at the end. O(1). */
  next(node: number): number {
    return this.nodes.next[node]!;
  }

  prev(node: number): number {
    return this.nodes.prev[node]!;
  }

  key(node: number): number {
    return this.nodes.key[node]!;
  }

  find(key: number): number {
    const nodes = this.nodes;
    let current = this.root;
    while (current !== NIL) {
      const currentKey = nodes.key[current]!;
      if (key < currentKey) current = nodes.left[current]!;
      else if (key > currentKey) current = nodes.right[current]!;
      else return current;
    }
    return NIL;
  }

  /** Inserts a key that is not in the tree and returns its new node. O(log n). */
  insert(key: number): number {
    const nodes = this.nodes;
    const path = nodes.path;
    let depth = 0;
    let current = this.root;
    let predecessor = NIL;
    let successor = NIL;
    while (current !== NIL) {
      const currentKey = nodes.key[current]!;
      if (key === currentKey) fail('PriceTree.insert: key is already in the tree');
      path[depth] = current;
      depth += 1;
      if (key < currentKey) {
        successor = current;
        current = nodes.left[current]!;
      } else {
        predecessor = current;
        current = nodes.right[current]!;
      }
    }
    const node = nodes.allocate(key);
    if (depth === 0) {
      this.root = node;
    } else {
      const parent = path[depth - 1]!;
      if (key < nodes.key[parent]!) nodes.left[parent] = node;
      else nodes.right[parent] = node;
    }
    // The last left turn on the way down is the successor, the last right turn the predecessor.
    nodes.prev[node] = predecessor;
    nodes.next[node] = successor;
    if (predecessor === NIL) this.firstNode = node;
    else nodes.next[predecessor] = node;
    if (successor === NIL) this.lastNode = node;
    else nodes.prev[successor] = node;
    this.sizeCount += 1;
    this.rebalancePath(depth);
    return node;
  }

  /** Removes a node of this tree and releases it to the arena. O(log n). */
  remove(node: number): void {
    const nodes = this.nodes;
    const depth = this.pathTo(node);
    this.unthread(node);
    const left = nodes.left[node]!;
    const right = nodes.right[node]!;
    let rebalanceDepth: number;
    if (left === NIL || right === NIL) {
      // path[depth − 1] is the node itself; its parent sits just above it.
      this.replaceChild(depth - 2, node, left === NIL ? right : left);
      rebalanceDepth = depth - 1;
    } else {
      rebalanceDepth = this.replaceWithSuccessor(node, depth);
    }
    this.sizeCount -= 1;
    nodes.release(node);
    this.rebalancePath(rebalanceDepth);
  }

  /** Fills `path` from the root down to `node` inclusive; returns its length. */
  private pathTo(node: number): number {
    const nodes = this.nodes;
    const path = nodes.path;
    const key = nodes.key[node]!;
    let depth = 0;
    let current = this.root;
    while (current !== node) {
      if (current === NIL) fail('PriceTree.remove: node is not in this tree');
      path[depth] = current;
      depth += 1;
      current = key < nodes.key[current]! ? nodes.left[current]! : nodes.right[current]!;
    }
    path[depth] = node;
    return depth + 1;
  }

  private unthread(node: number): void {
    const nodes = this.nodes;
    const before = nodes.prev[node]!;
    const after = nodes.next[node]!;
    if (before === NIL) this.firstNode = after;
    else nodes.next[before] = after;
    if (after === NIL) this.lastNode = before;
    else nodes.prev[after] = before;
  }

  /**
   * Removes a node with two children by moving its in-order successor (the leftmost node of its
   * right subtree) into its place. Nodes are level handles held by the order book, so the nodes
   * themselves are relinked; keys are never copied between nodes. Returns the depth of the path
   * (already rewritten to go through the successor) from which to rebalance.
   */
  private replaceWithSuccessor(node: number, depth: number): number {
    const nodes = this.nodes;
    const path = nodes.path;
    const nodeIndex = depth - 1;
    let successorDepth = depth;
    let successor = nodes.right[node]!;
    while (nodes.left[successor]! !== NIL) {
      path[successorDepth] = successor;
      successorDepth += 1;
      successor = nodes.left[successor]!;
    }
    // path[nodeIndex + 1 .. successorDepth - 1] are the ancestors of the successor below `node`.
    if (successorDepth > depth) {
      const successorParent = path[successorDepth - 1]!;
      nodes.left[successorParent] = nodes.right[successor]!;
      nodes.right[successor] = nodes.right[node]!;
    }
    nodes.left[successor] = nodes.left[node]!;
    nodes.height[successor] = nodes.height[node]!;
    this.replaceChild(nodeIndex - 1, node, successor);
    path[nodeIndex] = successor;
    return successorDepth;
  }

  /** Points the parent at path[parentIndex] (or the root when parentIndex < 0) from `child` to `replacement`. */
  private replaceChild(parentIndex: number, child: number, replacement: number): void {
    const nodes = this.nodes;
    if (parentIndex < 0) {
      this.root = replacement;
      return;
    }
    const parent = nodes.path[parentIndex]!;
    if (nodes.left[parent] === child) nodes.left[parent] = replacement;
    else nodes.right[parent] = replacement;
  }

  /** Restores heights and balance bottom-up along path[0 .. depth − 1]. */
  private rebalancePath(depth: number): void {
    const nodes = this.nodes;
    for (let index = depth - 1; index >= 0; index -= 1) {
      const node = nodes.path[index]!;
      const balanced = this.balance(node);
      if (balanced !== node) this.replaceChild(index - 1, node, balanced);
    }
  }

  private heightOf(node: number): number {
    return node === NIL ? 0 : this.nodes.height[node]!;
  }

  private updateHeight(node: number): void {
    const nodes = this.nodes;
    const leftHeight = this.heightOf(nodes.left[node]!);
    const rightHeight = this.heightOf(nodes.right[node]!);
    nodes.height[node] = (leftHeight > rightHeight ? leftHeight : rightHeight) + 1;
  }

  /** Returns the root of the rebalanced subtree that was rooted at `node`. */
  private balance(node: number): number {
    const nodes = this.nodes;
    const left = nodes.left[node]!;
    const right = nodes.right[node]!;
    const skew = this.heightOf(left) - this.heightOf(right);
    if (skew > 1) {
      if (this.heightOf(nodes.left[left]!) < this.heightOf(nodes.right[left]!)) nodes.left[node] = this.rotateLeft(left);
      return this.rotateRight(node);
    }
    if (skew < -1) {
      if (this.heightOf(nodes.right[right]!) < this.heightOf(nodes.left[right]!)) nodes.right[node] = this.rotateRight(right);
      return this.rotateLeft(node);
    }
    this.updateHeight(node);
    return node;
  }

  private rotateLeft(node: number): number {
    const nodes = this.nodes;
    const pivot = nodes.right[node]!;
    nodes.right[node] = nodes.left[pivot]!;
    nodes.left[pivot] = node;
    this.updateHeight(node);
    this.updateHeight(pivot);
    return pivot;
  }

  private rotateRight(node: number): number {
    const nodes = this.nodes;
    const pivot = nodes.left[node]!;
    nodes.left[node] = nodes.right[pivot]!;
    nodes.right[pivot] = node;
    this.updateHeight(node);
    this.updateHeight(pivot);
    return pivot;
  }

  /**
   * Debug check for tests and the engine's invariant check: search order, AVL balance, stored
   * heights, the thread matches the in-order walk, first/last/size agree. O(n), recursive (not hot).
   */
  check(): void {
    const nodes = this.nodes;
    const inOrder: number[] = [];
    const visit = (node: number, low: number, high: number): number => {
      if (node === NIL) return 0;
      assert(nodes.isUsed(node), 'PriceTree.check: a reachable node is free');
      const key = nodes.key[node]!;
      assert(key > low, 'PriceTree.check: search order broken (key not above its lower bound)');
      assert(key < high, 'PriceTree.check: search order broken (key not below its upper bound)');
      const leftHeight = visit(nodes.left[node]!, low, key);
      inOrder.push(node);
      const rightHeight = visit(nodes.right[node]!, key, high);
      assert(Math.abs(leftHeight - rightHeight) <= 1, 'PriceTree.check: AVL balance broken');
      const height = Math.max(leftHeight, rightHeight) + 1;
      assert(nodes.height[node] === height, 'PriceTree.check: stored height is wrong');
      return height;
    };
    visit(this.root, -Infinity, Infinity);
    assert(inOrder.length === this.sizeCount, 'PriceTree.check: size does not match the node count');
    let threaded = this.firstNode;
    let previous = NIL;
    for (const node of inOrder) {
      assert(threaded === node, 'PriceTree.check: thread does not follow the in-order walk');
      assert(nodes.prev[node] === previous, 'PriceTree.check: prev link is wrong');
      previous = node;
      threaded = nodes.next[node]!;
    }
    assert(threaded === NIL, 'PriceTree.check: thread runs past the last node');
    assert(this.lastNode === previous, 'PriceTree.check: last is wrong');
  }
}
