/**
 * Reads a snapshot-graph SVG back with an independent parser (fast-xml-parser):
 * its boxes (with their texts) and edges, from the SVG alone.
 */
import { XMLParser } from 'fast-xml-parser';

export interface SvgBox { name: string; state: string; parent?: string; current: boolean; texts: string[]; time?: number }

export function readSvg(svg: string): { domain: string; boxes: SvgBox[]; edges: Array<[string, string]>; heading: string } {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['g', 'path', 'text'].includes(name) });
  const doc = parser.parse(svg) as { svg: Record<string, any> };
  const root = doc.svg;
  const text = (t: any) => (typeof t === 'object' ? String(t['#text'] ?? '') : String(t));
  const boxes: SvgBox[] = (root.g ?? []).map((g: any) => ({
    name: g['data-name'],
    state: g['data-state'],
    parent: g['data-parent'],
    current: String(g.class).split(' ').includes('current'),
    texts: (g.text ?? []).map(text),
    time: g['data-creation-time'] === undefined ? undefined : Number(g['data-creation-time']),
  }));
  const edges = (root.path ?? []).filter((p: any) => p.class === 'edge').map((p: any) => [p['data-from'], p['data-to']] as [string, string]);
  const heading = text((root.text ?? []).find((t: any) => t.class === 'heading'));
  return { domain: root['data-domain'], boxes, edges, heading };
}
