/**
 * libvirt's scaled integers (`<memory unit='KiB'>`, `<max_size unit='bytes'>`):
 * virScaleInteger and virStrToLong_* as used by the XML parsers. BigInt because
 * the values are unsigned long long in C and byte counts overflow 2^53 easily.
 */
import { VirError, type ErrorDomainName } from '../../../protocol/errors.js';

export const ULLONG_MAX = (1n << 64n) - 1n;
export const LLONG_MAX = (1n << 63n) - 1n;
export const LLONG_MIN = -(1n << 63n);

/** strtoull/strtoll with libvirt's "whole string must be consumed" rule; leading blanks and a sign are allowed. */
export function parseCInteger(s: string, signed: boolean): bigint | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)$/.exec(s);
  if (!m) return undefined;
  let v = BigInt(m[2]);
  if (m[1] === '-') {
    if (!signed) {
      // strtoull negates in unsigned arithmetic; libvirt's virStrToLong_ull accepts the result.
      if (v > ULLONG_MAX) return undefined;
      v = v === 0n ? 0n : ULLONG_MAX + 1n - v;
      return v;
    }
    v = -v;
  }
  if (signed ? v < LLONG_MIN || v > LLONG_MAX : v > ULLONG_MAX) return undefined;
  return v;
}

/**
 * virScaleInteger: multiply `value` by the unit named by `suffix` (`b`, `KiB`,
 * `k`, `KB`, `M`...), defaulting to `defaultScale` when there is no suffix.
 */
export function scaleInteger(value: bigint, suffix: string | undefined, defaultScale: bigint, limit: bigint,
  domain: ErrorDomainName = 'VIR_FROM_NONE'): bigint {
  let scale: bigint;
  if (suffix === undefined || suffix === '') {
    scale = defaultScale;
  } else if (/^(b|bytes?)$/i.test(suffix)) {
    scale = 1n;
  } else {
    let base: bigint;
    if (suffix.length === 1 || suffix.slice(1).toLowerCase() === 'ib') base = 1024n;
    else if (suffix.length === 2 && suffix[1].toLowerCase() === 'b') base = 1000n;
    else throw new VirError('VIR_ERR_INVALID_ARG', `unknown suffix '${suffix}'`, domain);
    const power = 'kmgtpe'.indexOf(suffix[0].toLowerCase());
    if (power === -1) throw new VirError('VIR_ERR_INVALID_ARG', `unknown suffix '${suffix}'`, domain);
    scale = base ** BigInt(power + 1);
  }
  if (value > limit / scale) {
    // libvirt raises VIR_ERR_OVERFLOW here, which protocol/errors.ts does not define.
    throw new VirError('VIR_ERR_INVALID_ARG', `value too large: ${value}${suffix ?? ''}`, domain);
  }
  return value * scale;
}
