/**
 * Limits on the XML documents clients send (domain and snapshot definitions).
 * The drivers parse with the parser defaults (4 MiB, depth 256); a stricter
 * configured limit is enforced by dispatch before the call is queued, with the
 * parser's own errors, so the answer is the same either way.
 */
import { DEFAULT_MAX_XML_BYTES, DEFAULT_MAX_XML_DEPTH, parseXmlDocument } from './xml/xml-parse.js';

export { DEFAULT_MAX_XML_BYTES, DEFAULT_MAX_XML_DEPTH };

export interface XmlLimits {
  /** Largest document, in UTF-8 bytes. */
  maxBytes?: number;
  /** Deepest element nesting. */
  maxDepth?: number;
}

/**
 * Refuse `xml` if it breaks a limit stricter than the parser defaults.
 * `what` names the document in the error as the parser does (domain_snapshot...).
 */
export function checkXmlLimits(xml: string, what: string, limits: XmlLimits | undefined): void {
  const maxBytes = limits?.maxBytes ?? DEFAULT_MAX_XML_BYTES;
  const maxDepth = limits?.maxDepth ?? DEFAULT_MAX_XML_DEPTH;
  if (maxBytes >= DEFAULT_MAX_XML_BYTES && maxDepth >= DEFAULT_MAX_XML_DEPTH) return;
  if (maxDepth >= DEFAULT_MAX_XML_DEPTH) {
    // Size only: no need to parse twice.
    if (xml.length > maxBytes || Buffer.byteLength(xml, 'utf8') > maxBytes) parseXmlDocument(xml, what, { maxBytes, maxDepth });
    return;
  }
  try {
    parseXmlDocument(xml, what, { maxBytes, maxDepth });
  } catch (e) {
    // Only the limits are this check's business; any other fault is the driver's to report.
    const msg = (e as Error).message;
    if (/larger than the limit|Excessive depth/.test(msg)) throw e;
  }
}
