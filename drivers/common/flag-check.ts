/**
 * The driver's own flag masks: libvirt's virCheckFlags, which each driver calls
 * with the flags IT supports (the public-API rules between flags are the
 * table's, checked by dispatch: protocol/flag-rules.ts).
 */
import { unsupportedFlags, type ErrorDomainName } from '../../protocol/errors.js';

export class FlagCheck {
  constructor(private readonly funcPrefix: string, private readonly errDomain: ErrorDomainName) {}

  /** `flags` (0 when absent) if every bit is in `allowed`; else libvirt's "unsupported flags" naming `qemuDomainSnapshotNum`-style functions. */
  check(flags: number | undefined, allowed: number, method: string): number {
    const f = flags ?? 0;
    const bad = f & ~allowed;
    if (bad) throw unsupportedFlags(bad, `${this.funcPrefix}${method.slice(3)}`, this.errDomain);
    return f;
  }
}
