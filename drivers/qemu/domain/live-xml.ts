/**
 * What the live definition shows that the persistent one cannot know: the
 * pty QEMU allocated for each `<serial type='pty'>` (and the console on
 * serial port 0), written as libvirt does, `<source path='/dev/pts/N'/>` and
 * `<console tty='/dev/pts/N'>`, so a user can attach to it.
 */
import { domainDefFromElement, type DomainDef } from '../../common/xml/domain-xml.js';
import type { XmlElement } from '../../../protocol/xml/xml-element.js';
import { childElements, cloneElement, firstChild, getAttr, setAttr } from '../../common/xml/xml-query.js';

/** `ptys[i]` is serial port i's pty path, undefined for a non-pty port. */
export function withPtyPaths(def: DomainDef, ptys: Array<string | undefined>): DomainDef {
  if (!ptys.some((p) => p !== undefined)) return def;
  const el = cloneElement(def.element);
  const devices = firstChild(el, 'devices');
  if (!devices) return def;
  const serials = childElements(devices, 'serial');
  serials.forEach((s, i) => {
    const pty = ptys[i];
    if (pty !== undefined && (getAttr(s, 'type') ?? 'pty') === 'pty') setSource(s, pty);
  });
  const pty0 = ptys[0];
  for (const c of childElements(devices, 'console')) {
    if (pty0 === undefined || (getAttr(c, 'type') ?? 'pty') !== 'pty') continue;
    setAttr(c, 'tty', pty0);
    setSource(c, pty0);
  }
  return domainDefFromElement(el);
}

function setSource(dev: XmlElement, path: string): void {
  const src = firstChild(dev, 'source');
  if (src) {
    setAttr(src, 'path', path);
    return;
  }
  dev.children.unshift({ name: 'source', attrs: [['path', path]], children: [] });
}

/** Serial ports' pty paths from QMP query-chardev ("pty:/dev/pts/3" for label charserialN). */
export function ptyPaths(chardevs: Array<{ label: string; filename: string }>, count: number): Array<string | undefined> {
  const out: Array<string | undefined> = [];
  for (let i = 0; i < count; i++) {
    const f = chardevs.find((c) => c.label === `charserial${i}`)?.filename;
    out.push(f?.startsWith('pty:') ? f.slice(4) : undefined);
  }
  return out;
}
