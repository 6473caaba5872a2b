// PEM (RFC 7468) encoding and strict decoding, browser-safe.
import { fromBase64, toBase64 } from '../shared/index.js';
import { PkiError } from './errors.js';

export function encodePem(label: string, der: Uint8Array): string {
  const b64 = toBase64(der);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export interface PemBlock {
  readonly label: string;
  readonly der: Uint8Array;
}

const PEM_RE = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;

/** Every PEM block in the text, in order. Mismatched labels or bad base64 are errors. */
export function decodePemAll(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(PEM_RE)) {
    const [, begin, body, end] = m;
    if (begin !== end) throw new PkiError('pem-invalid', 'pem begin and end labels differ');
    const der = fromBase64(body ?? '');
    if (der === undefined || der.length === 0) {
      throw new PkiError('pem-invalid', 'pem body is not base64', { details: { label: begin } });
    }
    blocks.push({ label: begin ?? '', der });
  }
  return blocks;
}

/** Exactly one PEM block with the expected label. */
export function decodePem(text: string, label: string): Uint8Array {
  const blocks = decodePemAll(text).filter((b) => b.label === label);
  if (blocks.length !== 1) {
    throw new PkiError('pem-invalid', `expected exactly one pem block labelled ${label}`, {
      details: { found: blocks.length },
    });
  }
  return blocks[0]!.der;
}

/** Accepts DER bytes as they are, or PEM text with the given label. */
export function derOrPem(bytes: Uint8Array, label: string): Uint8Array {
  if (bytes[0] === 0x30) return bytes;
  return decodePem(new TextDecoder().decode(bytes), label);
}
