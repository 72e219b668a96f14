/**
 * Refusal helpers for the qemu driver's domain XML reader: every element and
 * attribute it does not turn into QEMU configuration is refused by name with
 * VIR_ERR_CONFIG_UNSUPPORTED, so nothing is accepted and then ignored.
 */
import * as path from 'node:path';
import { VirError } from '../../../protocol/errors.js';
import type { XmlElement } from '../../../protocol/xml/xml-element.js';
import { childElements, getAttr } from '../../common/xml/xml-query.js';

export function unsupported(detail: string): VirError {
  return new VirError('VIR_ERR_CONFIG_UNSUPPORTED', detail, 'VIR_FROM_QEMU');
}

/** Refuse any child element of `el` not in `allowed`; `where` names `el` in the message ("<devices><disk>"). */
export function onlyChildren(el: XmlElement, allowed: readonly string[], where: string): void {
  for (const child of childElements(el)) {
    if (!allowed.includes(child.name)) throw unsupported(`element ${where}<${child.name}> is not supported by the qemu driver`);
  }
}

/** Refuse any attribute of `el` not in `allowed`. */
export function onlyAttrs(el: XmlElement, allowed: readonly string[], where: string): void {
  for (const [name] of el.attrs) {
    if (name.startsWith('xmlns')) continue;
    if (!allowed.includes(name)) throw unsupported(`attribute '${name}' of ${where} is not supported by the qemu driver`);
  }
}

/** An attribute that must take one of `values` (undefined when absent). */
export function enumAttr<T extends string>(el: XmlElement, name: string, values: readonly T[], where: string): T | undefined {
  const v = getAttr(el, name);
  if (v === undefined) return undefined;
  if (!(values as readonly string[]).includes(v)) {
    throw unsupported(`${where} ${name}='${v}' is not supported by the qemu driver (supported: ${values.join(', ')})`);
  }
  return v as T;
}

export function absolutePath(value: string | undefined, what: string): string {
  if (value === undefined || value === '') throw unsupported(`${what} needs a path`);
  if (!path.isAbsolute(value)) throw unsupported(`${what} path '${value}' must be absolute`);
  if (/[\0\n]/.test(value)) throw unsupported(`${what} path contains a NUL or newline`);
  return path.normalize(value);
}

/** 'yes'/'no' (or 'on'/'off') attribute as a boolean. */
export function yesNo(el: XmlElement, name: string, where: string): boolean | undefined {
  const v = enumAttr(el, name, ['yes', 'no', 'on', 'off'], where);
  return v === undefined ? undefined : v === 'yes' || v === 'on';
}
