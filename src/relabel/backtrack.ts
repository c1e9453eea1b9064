/**
 * Worst-case backtracking cost of a regex on a backtracking engine (V8's
 * irregexp), from its syntax tree.
 *
 * RE2 matches in linear time; a backtracking engine tries the paths through
 * the pattern one by one, and on an input that fails late it tries all of
 * them. Their number is the pattern's ambiguity: `(a+)+$` has exponentially
 * many ways to read `aaaa…`, `.*.*=` quadratically many, `[^:]+:\d+` one.
 * Label values come from scraped targets, so one long value with a pattern
 * like `(\w+\s?)*x` would stall the whole agent (measured: 110 s for 61
 * characters in V8 15; RE2 takes microseconds).
 *
 * The analysis builds a Thompson automaton in which every ε-route counts as
 * a separate path (so `(a+)+` reads "aa" in two ways, as a backtracker
 * does), removes the ε-moves keeping route counts, and classifies it with
 * the standard ambiguity criteria (Weber & Seidl):
 * - exponential: some state has two different cycles reading the same word
 *   (found in the product of a strongly connected component with itself), or
 *   a loop whose body can match "" (JS and RE2 then also disagree on captures);
 * - polynomial of degree d: the longest chain p₀ → … → p_d of states such that
 *   each pᵢ reads some word w both back to itself and into pᵢ₊₁, which reads w
 *   back to itself (found in a triple product); a failing input of length n then
 *   costs about n^(d+1) steps;
 * - linear: neither; the number of paths over any one prefix is then bounded
 *   by a constant (computed with a determinisation that counts paths), and a
 *   failing input costs about that constant times n.
 *
 * Everything is over-approximated so that the result is an upper bound:
 * assertions are treated as always true, character sets may be widened, and
 * a counted repetition `x{n,m}` (m ≥ 2) is analysed as `x+` or `x*`, which has
 * at least as many paths for every input. A pattern too large to analyse
 * within a fixed budget is reported as `unknown`.
 *
 * @module
 */

import type { ClassSpec, Node } from "./regex.ts";

/** How the backtracking work of a regex grows with the input length n. */
export type Backtracking =
  /** At most `paths` ways to read any one prefix: a failing input costs O(paths·n). */
  | { readonly kind: "linear"; readonly paths: number }
  /** Paths grow as n^degree, so a failing input costs O(n^(degree+1)). */
  | { readonly kind: "polynomial"; readonly degree: number }
  | { readonly kind: "exponential"; readonly reason: string }
  | { readonly kind: "unknown"; readonly reason: string };

/** Work units (roughly, visited product states) before giving up. */
const WORK_LIMIT = 1_000_000;
/** Automaton states beyond which the pattern is not analysed. */
const STATE_LIMIT = 50_000;
/** Paths over one prefix above which a "linear" pattern is treated as exponential. */
const PATH_LIMIT = 2 ** 20;

const MAX_RUNE = 0x10ffff;
const ANY: readonly number[] = [0, MAX_RUNE];
const ANY_BUT_NL: readonly number[] = [0, 9, 11, MAX_RUNE];

class OutOfBudget extends Error {}

/** Analyses the syntax tree of `^(?s:…)$` as parsed by regex.ts. */
export function analyzeBacktracking(root: Node): Backtracking {
  const loop = nullableLoop(root);
  if (loop) return { kind: "exponential", reason: "a repeated group can match the empty string" };
  try {
    return new Analysis(root).run();
  } catch (e) {
    if (e instanceof OutOfBudget) return { kind: "unknown", reason: e.message };
    throw e;
  }
}

// ---------------------------------------------------------------------------
// Automaton

const CONSUME = 0, EPS = 1, ACCEPT = 2;

class Analysis {
  #work = 0;
  // Thompson automaton: consuming states have one successor, ε-states any number.
  readonly #kind: number[] = [];
  readonly #outs: number[][] = [];
  readonly #sets: (readonly number[] | null)[] = [];
  // ε-free automaton: node 0 is the initial state, the others are consuming states.
  #succ: number[][] = [];
  #mult: number[][] = [];
  #setOf: (readonly number[])[] = [];

  constructor(readonly root: Node) {}

  run(): Backtracking {
    const accept = this.#state(ACCEPT, null, []);
    let start = this.#build(this.root, accept);
    if (!startAnchored(this.root)) {
      // The engine retries at every position: the same as a leading lazy `(?s:.)*?`.
      const p = this.#state(EPS, null, []);
      const any = this.#state(CONSUME, ANY, [p]);
      this.#outs[p].push(any, start);
      start = p;
    }
    this.#eliminateEpsilon(start);
    const n = this.#succ.length;
    const scc = sccs(this.#succ);
    const size = new Array<number>(n).fill(0);
    for (let v = 0; v < n; v++) size[scc[v]]++;
    const cyclic = new Array<boolean>(n).fill(false);
    const members = new Map<number, number[]>();
    for (let v = 0; v < n; v++) {
      if (size[scc[v]] === 1 && !this.#succ[v].includes(v)) continue;
      cyclic[v] = true;
      const list = members.get(scc[v]);
      if (list === undefined) members.set(scc[v], [v]);
      else list.push(v);
    }
    for (const list of members.values()) {
      if (this.#hasEda(list, scc)) {
        return {
          kind: "exponential",
          reason: "a repetition can read the same text in more than one way",
        };
      }
    }
    const degree = this.#idaDegree(scc, cyclic);
    if (degree > 0) return { kind: "polynomial", degree };
    const paths = this.#deterministic() ? 1 : this.#maxPrefixPaths();
    if (paths > PATH_LIMIT) {
      return { kind: "exponential", reason: `more than ${PATH_LIMIT} ways to read one input` };
    }
    return { kind: "linear", paths };
  }

  #spend(units: number): void {
    this.#work += units;
    if (this.#work > WORK_LIMIT) throw new OutOfBudget("too large to analyse");
  }

  #state(kind: number, set: readonly number[] | null, outs: number[]): number {
    if (this.#kind.length >= STATE_LIMIT) throw new OutOfBudget("too many states to analyse");
    this.#kind.push(kind);
    this.#sets.push(set);
    this.#outs.push(outs);
    return this.#kind.length - 1;
  }

  /** Compiles `n` to continue at `next`; returns its entry state. */
  #build(n: Node, next: number): number {
    switch (n.t) {
      case "empty":
      case "assert":
        return next;
      case "lit":
        return this.#state(CONSUME, litSet(n.cp, n.fold), [next]);
      case "class":
        return this.#state(CONSUME, classSet(n.cls, n.fold), [next]);
      case "any":
        return this.#state(CONSUME, n.nl ? ANY : ANY_BUT_NL, [next]);
      case "cap":
        return this.#build(n.sub, next);
      case "cat": {
        let s = next;
        for (let i = n.subs.length - 1; i >= 0; i--) s = this.#build(n.subs[i], s);
        return s;
      }
      case "alt": {
        const s = this.#state(EPS, null, []);
        for (const sub of n.subs) this.#outs[s].push(this.#build(sub, next));
        return s;
      }
      case "rep": {
        if (n.max === 0) return next;
        if (n.max === 1) {
          const body = this.#build(n.sub, next);
          return n.min === 1 ? body : this.#state(EPS, null, [body, next]);
        }
        // x{n,m} with m ≥ 2 is analysed as x+ (n ≥ 1) or x* (n = 0).
        const loop = this.#state(EPS, null, []);
        const body = this.#build(n.sub, loop);
        this.#outs[loop].push(body, next);
        return n.min >= 1 ? body : loop;
      }
    }
  }

  /**
   * Builds the ε-free automaton: for each consuming state (and the start),
   * the consuming states reachable through ε-moves, with the number of
   * distinct ε-routes (capped at 2).
   */
  #eliminateEpsilon(start: number): void {
    const kind = this.#kind, outs = this.#outs;
    const memo = new Map<number, Map<number, number>>();
    const closure = (s: number): Map<number, number> => {
      if (kind[s] === CONSUME) return new Map([[s, 1]]);
      const done = memo.get(s);
      if (done) return done;
      // Iterative depth-first post-order over the ε-graph (acyclic: loops
      // whose body can match "" were ruled out before).
      const stack: [number, number][] = [[s, 0]];
      const onPath = new Set<number>([s]);
      while (stack.length > 0) {
        const top = stack[stack.length - 1];
        const v = top[0];
        if (top[1] < outs[v].length) {
          const o = outs[v][top[1]++];
          if (kind[o] === EPS && !memo.has(o)) {
            if (onPath.has(o)) throw new OutOfBudget("ε-cycle");
            stack.push([o, 0]);
            onPath.add(o);
          }
          continue;
        }
        stack.pop();
        onPath.delete(v);
        const m = new Map<number, number>();
        for (const o of outs[v]) {
          const add = kind[o] === CONSUME
            ? new Map([[o, 1]])
            : kind[o] === ACCEPT
            ? new Map<number, number>()
            : memo.get(o)!;
          for (const [t, c] of add) m.set(t, Math.min(2, (m.get(t) ?? 0) + c));
        }
        this.#spend(m.size + 1);
        memo.set(v, m);
      }
      return memo.get(s)!;
    };
    const index = new Map<number, number>();
    const consume: number[] = [];
    const idOf = (s: number): number => {
      let i = index.get(s);
      if (i === undefined) {
        i = consume.length;
        index.set(s, i);
        consume.push(s);
      }
      return i;
    };
    // Node 0 is the initial state; consuming states follow in discovery order.
    consume.push(-1);
    const succ: number[][] = [], mult: number[][] = [];
    const edges = (m: Map<number, number>, from: number) => {
      const ts: number[] = [], cs: number[] = [];
      this.#spend(m.size + 1);
      for (const [t, c] of m) {
        ts.push(idOf(t));
        cs.push(c);
      }
      succ[from] = ts;
      mult[from] = cs;
    };
    edges(closure(start), 0);
    for (let i = 1; i < consume.length; i++) edges(closure(outs[consume[i]][0]), i);
    this.#succ = succ;
    this.#mult = mult;
    this.#setOf = consume.map((s) => (s < 0 ? ANY : this.#sets[s]!));
  }

  /** Whether some state of this strongly connected component has two cycles reading the same word. */
  #hasEda(members: number[], scc: number[]): boolean {
    const k = members.length;
    this.#spend(k * k);
    const local = new Map<number, number>();
    members.forEach((v, i) => local.set(v, i));
    const comp = scc[members[0]];
    // Pair graph on members × members.
    const succ: number[][] = [];
    const double: boolean[][] = [];
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        const a = members[i], b = members[j];
        const out: number[] = [], dbl: boolean[] = [];
        const sa = this.#succ[a], sb = this.#succ[b];
        for (let x = 0; x < sa.length; x++) {
          const a2 = sa[x];
          if (scc[a2] !== comp) continue;
          for (let y = 0; y < sb.length; y++) {
            const b2 = sb[y];
            if (scc[b2] !== comp) continue;
            this.#spend(1);
            if (a2 !== b2 && !intersects(this.#setOf[a2], this.#setOf[b2])) continue;
            out.push(local.get(a2)! * k + local.get(b2)!);
            dbl.push(a === b && a2 === b2 && this.#mult[a][x] > 1);
          }
        }
        succ[i * k + j] = out;
        double[i * k + j] = dbl;
      }
    }
    const pscc = sccs(succ);
    const hasDiag = new Set<number>();
    for (let i = 0; i < k; i++) hasDiag.add(pscc[i * k + i]);
    for (let p = 0; p < k * k; p++) {
      if (!hasDiag.has(pscc[p])) continue;
      const diag = Math.floor(p / k) === p % k;
      if (!diag) return true;
      const out = succ[p];
      for (let x = 0; x < out.length; x++) {
        if (double[p][x] && pscc[out[x]] === pscc[p]) return true;
      }
    }
    return false;
  }

  /** Longest chain of states linked by the IDA condition (0 when there is none). */
  #idaDegree(scc: number[], cyclic: boolean[]): number {
    const n = this.#succ.length;
    const cyc: number[] = [];
    for (let v = 0; v < n; v++) if (cyclic[v]) cyc.push(v);
    if (cyc.length < 2) return 0;
    const reach = cyc.map((v) => reachable(this.#succ, v));
    // sccs() numbers components in reverse topological order: sources get the highest numbers.
    const order = cyc.map((_, i) => i).sort((x, y) => scc[cyc[y]] - scc[cyc[x]]);
    const deg = new Array<number>(cyc.length).fill(0);
    let best = 0;
    for (const qi of order) {
      const q = cyc[qi];
      for (const pi of order) {
        if (pi === qi) break;
        const p = cyc[pi];
        if (scc[p] === scc[q] || !reach[pi].has(q) || deg[pi] + 1 <= deg[qi]) continue;
        if (this.#ida(p, q, scc)) deg[qi] = deg[pi] + 1;
      }
      best = Math.max(best, deg[qi]);
    }
    return best;
  }

  /** Whether some word w reads p → p, p → q and q → q. */
  #ida(p: number, q: number, scc: number[]): boolean {
    const n = this.#succ.length;
    const key = (a: number, b: number, c: number) => (a * n + b) * n + c;
    const seen = new Set<number>([key(p, p, q)]);
    const queue: number[] = [p, p, q];
    for (let h = 0; h < queue.length; h += 3) {
      const a = queue[h], b = queue[h + 1], c = queue[h + 2];
      for (const a2 of this.#succ[a]) {
        if (scc[a2] !== scc[p]) continue;
        for (const c2 of this.#succ[c]) {
          if (scc[c2] !== scc[q]) continue;
          const ac = intersection(this.#setOf[a2], this.#setOf[c2]);
          if (ac.length === 0) continue;
          for (const b2 of this.#succ[b]) {
            this.#spend(1);
            if (!intersects(ac, this.#setOf[b2])) continue;
            if (a2 === p && b2 === q && c2 === q) return true;
            const k = key(a2, b2, c2);
            if (seen.has(k)) continue;
            seen.add(k);
            queue.push(a2, b2, c2);
          }
        }
      }
    }
    return false;
  }

  /** Whether every state's successors read disjoint sets along single routes (one path per prefix). */
  #deterministic(): boolean {
    for (let v = 0; v < this.#succ.length; v++) {
      const ts = this.#succ[v], ms = this.#mult[v];
      this.#spend(ts.length * ts.length + 1);
      for (let i = 0; i < ts.length; i++) {
        if (ms[i] > 1) return false;
        for (let j = i + 1; j < ts.length; j++) {
          if (intersects(this.#setOf[ts[i]], this.#setOf[ts[j]])) return false;
        }
      }
    }
    return true;
  }

  /**
   * The largest number of paths over any one prefix, by a determinisation
   * that keeps a path count per state (only called when that number is
   * bounded, i.e. without EDA or IDA). Capped at {@link PATH_LIMIT} + 1.
   */
  #maxPrefixPaths(): number {
    // Alphabet classes: intervals on which every state's set is constant.
    const cuts = new Set<number>([0, MAX_RUNE + 1]);
    for (const s of this.#setOf) {
      for (let i = 0; i < s.length; i += 2) cuts.add(s[i]).add(s[i + 1] + 1);
    }
    const bounds = [...cuts].sort((a, b) => a - b);
    const classOf = (c: number) => {
      let lo = 0, hi = bounds.length - 2;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (bounds[mid] <= c) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    };
    // The classes each state's set covers.
    const covers = this.#setOf.map((set) => {
      const out: number[] = [];
      for (let i = 0; i < set.length; i += 2) {
        for (let k = classOf(set[i]), end = classOf(set[i + 1]); k <= end; k++) out.push(k);
      }
      this.#spend(out.length);
      return out;
    });
    const enc = (m: Map<number, number>) => {
      const keys = [...m.keys()].sort((x, y) => x - y);
      let out = "";
      for (const k of keys) out += k + ":" + m.get(k) + ",";
      return out;
    };
    const startSet = new Map<number, number>([[0, 1]]);
    const seen = new Set<string>([enc(startSet)]);
    const queue = [startSet];
    let best = 1;
    for (let h = 0; h < queue.length; h++) {
      const byClass = new Map<number, Map<number, number>>();
      for (const [s, count] of queue[h]) {
        const ts = this.#succ[s], ms = this.#mult[s];
        for (let i = 0; i < ts.length; i++) {
          const t = ts[i], add = count * ms[i];
          const cov = covers[t];
          this.#spend(cov.length + 1);
          for (let k = 0; k < cov.length; k++) {
            let next = byClass.get(cov[k]);
            if (next === undefined) byClass.set(cov[k], next = new Map());
            next.set(t, Math.min(PATH_LIMIT + 1, (next.get(t) ?? 0) + add));
          }
        }
      }
      for (const next of byClass.values()) {
        let total = 0;
        for (const v of next.values()) total += v;
        best = Math.max(best, total);
        if (best > PATH_LIMIT) return PATH_LIMIT + 1;
        const k = enc(next);
        if (seen.has(k)) continue;
        seen.add(k);
        queue.push(next);
      }
    }
    return best;
  }
}

// ---------------------------------------------------------------------------
// Helpers

function startAnchored(root: Node): boolean {
  return root.t === "cat" && root.subs[0].t === "assert" && root.subs[0].k === "bot";
}

function children(n: Node): Node[] {
  switch (n.t) {
    case "cat":
    case "alt":
      return n.subs;
    case "cap":
    case "rep":
      return [n.sub];
    default:
      return [];
  }
}

/** Whether `n` can match the empty string. */
export function nullable(n: Node): boolean {
  switch (n.t) {
    case "lit":
    case "class":
    case "any":
      return false;
    case "assert":
    case "empty":
      return true;
    case "cat":
      return n.subs.every(nullable);
    case "alt":
      return n.subs.some(nullable);
    case "rep":
      return n.min === 0 || nullable(n.sub);
    case "cap":
      return nullable(n.sub);
  }
}

/** Whether a repetition that can run more than once has a body that can match "". */
function nullableLoop(n: Node): boolean {
  if (n.t === "rep" && (n.max === -1 || n.max >= 2) && nullable(n.sub)) return true;
  return children(n).some(nullableLoop);
}

/** Strongly connected components (Tarjan, iterative); ids are in reverse topological order. */
export function sccs(succ: readonly (readonly number[])[]): number[] {
  const n = succ.length;
  const index = new Array<number>(n).fill(-1);
  const low = new Array<number>(n).fill(0);
  const comp = new Array<number>(n).fill(-1);
  const stack: number[] = [];
  const onStack = new Array<boolean>(n).fill(false);
  let next = 0, ncomp = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] >= 0) continue;
    const work: [number, number][] = [[root, 0]];
    index[root] = low[root] = next++;
    stack.push(root);
    onStack[root] = true;
    while (work.length > 0) {
      const top = work[work.length - 1];
      const [v, i] = top;
      if (i < succ[v].length) {
        top[1]++;
        const w = succ[v][i];
        if (index[w] < 0) {
          index[w] = low[w] = next++;
          stack.push(w);
          onStack[w] = true;
          work.push([w, 0]);
        } else if (onStack[w]) low[v] = Math.min(low[v], index[w]);
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const u = work[work.length - 1][0];
        low[u] = Math.min(low[u], low[v]);
      }
      if (low[v] === index[v]) {
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = false;
          comp[w] = ncomp;
        } while (w !== v);
        ncomp++;
      }
    }
  }
  return comp;
}

function reachable(succ: readonly (readonly number[])[], from: number): Set<number> {
  const seen = new Set<number>();
  const stack = [...succ[from]];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    stack.push(...succ[v]);
  }
  return seen;
}

// ---------------------------------------------------------------------------
// Character sets: sorted, disjoint, inclusive ranges [lo0, hi0, lo1, hi1, …],
// widened where exactness would need Unicode tables.

function normalize(r: readonly number[]): number[] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < r.length; i += 2) pairs.push([r[i], r[i + 1]]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    if (out.length > 0 && lo <= out[out.length - 1] + 1) {
      out[out.length - 1] = Math.max(out[out.length - 1], hi);
    } else out.push(lo, hi);
  }
  return out;
}

function complementOf(r: readonly number[]): number[] {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < r.length; i += 2) {
    if (r[i] > next) out.push(next, r[i] - 1);
    next = r[i + 1] + 1;
  }
  if (next <= MAX_RUNE) out.push(next, MAX_RUNE);
  return out;
}

/** Adds the case variants of ASCII letters; anything non-ASCII widens to every character. */
function folded(r: readonly number[]): readonly number[] {
  const extra: number[] = [];
  for (let i = 0; i < r.length; i += 2) {
    const lo = r[i], hi = r[i + 1];
    if (hi >= 0x80) return ANY;
    for (const [a, b, d] of [[0x41, 0x5a, 32], [0x61, 0x7a, -32]]) {
      const l = Math.max(lo, a), h = Math.min(hi, b);
      if (l <= h) extra.push(l + d, h + d);
    }
    if (lo <= 0x73 && hi >= 0x73 || lo <= 0x53 && hi >= 0x53) extra.push(0x17f, 0x17f);
    if (lo <= 0x6b && hi >= 0x6b || lo <= 0x4b && hi >= 0x4b) extra.push(0x212a, 0x212a);
  }
  return normalize([...r, ...extra]);
}

function litSet(cp: number, fold: boolean): readonly number[] {
  return fold ? folded([cp, cp]) : [cp, cp];
}

/**
 * A superset of what a class matches: a negated class matches at most the
 * complement of its explicit ranges (Unicode items and case folding only
 * remove more); a positive class with Unicode items is widened to anything.
 */
function classSet(cls: ClassSpec, fold: boolean): readonly number[] {
  const r = normalize(cls.ranges);
  if (cls.negated) return complementOf(r);
  if (cls.props.length > 0) return ANY;
  return fold ? folded(r) : r;
}

function intersects(a: readonly number[], b: readonly number[]): boolean {
  let i = 0, j = 0;
  while (i < a.length && j < b.length) {
    if (a[i + 1] < b[j]) i += 2;
    else if (b[j + 1] < a[i]) j += 2;
    else return true;
  }
  return false;
}

function intersection(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0, j = 0;
  while (i < a.length && j < b.length) {
    const lo = Math.max(a[i], b[j]), hi = Math.min(a[i + 1], b[j + 1]);
    if (lo <= hi) out.push(lo, hi);
    if (a[i + 1] < b[j + 1]) i += 2;
    else j += 2;
  }
  return out;
}
