/**
 * CPU time (user + system) of this process spent in `fn`, in milliseconds.
 *
 * Complexity guards (a parser that went quadratic, a tree build that went
 * O(n²)) use CPU time rather than wall time: on a loaded machine a linear run
 * can wait seconds for a core, while its CPU time stays what it is. The bounds
 * are set so that only a change of complexity crosses them; speed itself is
 * measured by `npm run bench`, not by tests.
 */
export function cpuMs<T>(fn: () => T): { value: T; ms: number } {
  const start = process.cpuUsage();
  const value = fn();
  const used = process.cpuUsage(start);
  return { value, ms: (used.user + used.system) / 1000 };
}
