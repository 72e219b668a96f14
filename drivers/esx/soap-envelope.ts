/**
 * SOAP envelopes for vSphere: building requests from small pieces and reading
 * replies with fast-xml-parser. Replies become plain objects: an element with
 * attributes is `{ '#text', '@_type' }`, repeated elements arrays (use `list`).
 */
import { XMLParser } from 'fast-xml-parser';
import { VirError } from '../../protocol/errors.js';

export type XmlObj = { [k: string]: XmlVal };
export type XmlVal = string | XmlObj | XmlVal[] | undefined;

/** A managed object reference, `<obj type="VirtualMachine">vm-42</obj>`. */
export interface MoRef {
  type: string;
  value: string;
}

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
});

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** `<name>text</name>`, escaped; nothing when `value` is undefined. */
export function el(name: string, value: string | number | boolean | undefined): string {
  return value === undefined ? '' : `<${name}>${escapeXml(String(value))}</${name}>`;
}

export function moEl(name: string, ref: MoRef): string {
  return `<${name} type="${escapeXml(ref.type)}">${escapeXml(ref.value)}</${name}>`;
}

export function envelope(method: string, inner: string): string {
  return '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    `<soapenv:Body><${method} xmlns="urn:vim25">${inner}</${method}></soapenv:Body></soapenv:Envelope>`;
}

export function list(v: XmlVal): XmlVal[] {
  if (v === undefined || v === '') return [];
  return Array.isArray(v) ? v : [v];
}

export function text(v: XmlVal): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return text(v[0]);
  const t = v['#text'];
  return typeof t === 'string' ? t : '';
}

export function obj(v: XmlVal): XmlObj | undefined {
  if (v === undefined || typeof v === 'string') return undefined;
  return Array.isArray(v) ? obj(v[0]) : v;
}

export function toMoRef(v: XmlVal): MoRef | undefined {
  const o = obj(v);
  const type = o?.['@_type'];
  return typeof type === 'string' ? { type, value: text(o) ?? '' } : undefined;
}

/** The fault's type: the detail element's xsi:type, else its name without "Fault". */
function faultType(detail: XmlObj | undefined): string {
  if (!detail) return 'unknown';
  const [name, content] = Object.entries(detail).find(([k]) => !k.startsWith('@_') && k !== '#text') ?? [];
  const typeAttr = obj(content)?.['@_type'];
  if (typeof typeAttr === 'string') return typeAttr;
  return name ? name.replace(/Fault$/, '') : 'unknown';
}

/** A SOAP fault: method, fault type, message and HTTP status. */
export interface SoapFault {
  method: string;
  faultType: string;
  faultString: string;
  status: number;
}

export class SoapFaultError extends Error {
  constructor(readonly fault: SoapFault) {
    super(`${fault.method}: ${fault.faultType}: ${fault.faultString}`);
  }
}

/** The `<MethodResponse>` of a reply, or a SoapFaultError, or VIR_ERR_INTERNAL_ERROR for garbage. */
export function parseEnvelope(method: string, status: number, body: string): XmlObj {
  let doc: XmlObj;
  try {
    doc = parser.parse(body) as XmlObj;
  } catch (e) {
    throw new VirError('VIR_ERR_INTERNAL_ERROR', `HTTP response code ${status} for call to '${method}': malformed XML (${(e as Error).message})`, 'VIR_FROM_ESX');
  }
  const bodyEl = obj(obj(doc.Envelope)?.Body);
  if (!bodyEl) {
    throw new VirError('VIR_ERR_INTERNAL_ERROR', `HTTP response code ${status} for call to '${method}': no SOAP body`, 'VIR_FROM_ESX');
  }
  const fault = obj(bodyEl.Fault);
  if (fault) {
    throw new SoapFaultError({ method, faultType: faultType(obj(fault.detail)), faultString: text(fault.faultstring) ?? '', status });
  }
  if (status !== 200) {
    throw new VirError('VIR_ERR_INTERNAL_ERROR', `HTTP response code ${status} for call to '${method}'`, 'VIR_FROM_ESX');
  }
  const response = bodyEl[`${method}Response`];
  if (response === undefined) {
    throw new VirError('VIR_ERR_INTERNAL_ERROR', `HTTP response code ${status} for call to '${method}': no ${method}Response`, 'VIR_FROM_ESX');
  }
  return obj(response) ?? {};
}
