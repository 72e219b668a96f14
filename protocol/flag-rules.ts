/**
 * libvirt's public-API flag rules (libvirt-domain-snapshot.c checks them with
 * VIR_EXCLUSIVE_FLAGS_GOTO / VIR_REQUIRE_FLAG_GOTO before any driver runs).
 * They are declared per procedure in the table, by flag name, and checked here
 * for every procedure alike; which flags a driver supports is the driver's own
 * business (its "unsupported flags" check comes after these).
 */
import { exclusiveFlags, requiredFlag } from './errors.js';

export type FlagRule =
  /** The two flags may not be given together. */
  | { exclusive: readonly [string, string] }
  /** `flag` may only be given together with `requires`. */
  | { flag: string; requires: string };

interface RuleOwner {
  flags?: Record<string, number>;
  flagRules?: readonly FlagRule[];
}

function bit(owner: RuleOwner, name: string): number {
  const value = owner.flags?.[name];
  if (value === undefined) throw new Error(`flag rule names ${name}, which is not one of the procedure's flags`);
  return value;
}

/** Throw libvirt's VIR_ERR_INVALID_ARG for the first rule `flags` breaks, in the table's order. */
export function checkFlagRules(owner: RuleOwner, flags: number | undefined): void {
  if (!owner.flagRules || !flags) return;
  for (const rule of owner.flagRules) {
    if ('exclusive' in rule) {
      const [a, b] = rule.exclusive;
      if (flags & bit(owner, a) && flags & bit(owner, b)) throw exclusiveFlags(a, b);
    } else if (flags & bit(owner, rule.flag) && !(flags & bit(owner, rule.requires))) {
      throw requiredFlag(rule.requires, rule.flag);
    }
  }
}

/** Every rule names flags of its own procedure (checked by a test, so a typo cannot ship). */
export function flagRuleProblems(name: string, owner: RuleOwner): string[] {
  const out: string[] = [];
  for (const rule of owner.flagRules ?? []) {
    const names = 'exclusive' in rule ? [...rule.exclusive] : [rule.flag, rule.requires];
    for (const n of names) if (owner.flags?.[n] === undefined) out.push(`${name}: flag rule names unknown flag ${n}`);
  }
  return out;
}

