// The static verification page: drop a token, evidence, chain or attestation certificate, give
// the root certificate or its SHA-256, and read the per-check report. Runs offline in the browser
// on the same library as attestamp-verify; nothing leaves the page.
import {
  inspectAttestationCertificate,
  inspectEvidence,
  inspectToken,
  verifyChain,
  type Report,
} from '../attestation/index.js';
import { decodePemAll } from '../pki/index.js';
import { fromHex } from '../shared/index.js';

export type Kind = 'token' | 'evidence' | 'chain' | 'certificate';

const LABELS: Readonly<Record<Kind, readonly string[]>> = {
  token: ['TSR', 'TIMESTAMP RESPONSE', 'PKCS7', 'CMS'],
  evidence: ['EVIDENCE'],
  chain: ['CERTIFICATE'],
  certificate: ['CERTIFICATE'],
};

function isText(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b < 0x7f));
}

/** DER objects from PEM (any of the kind's labels), base64 text, or raw DER. */
export function objectsOf(bytes: Uint8Array, kind: Kind): Uint8Array[] {
  if (!isText(bytes)) return [bytes];
  const text = new TextDecoder().decode(bytes);
  if (text.includes('-----BEGIN')) {
    const blocks = decodePemAll(text).filter(
      (b) => kind === 'token' || LABELS[kind].includes(b.label),
    );
    if (blocks.length === 0) {
      throw new Error(`no ${LABELS[kind].join(' or ')} PEM block in the file`);
    }
    return blocks.map((b) => b.der);
  }
  const compact = text.replace(/\s+/g, '');
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    return [Uint8Array.from(atob(compact), (c) => c.charCodeAt(0))];
  }
  throw new Error('the file is neither DER, PEM nor base64');
}

export interface PageInput {
  readonly kind: Kind;
  readonly input: Uint8Array;
  readonly data?: Uint8Array;
  readonly anchor?: Uint8Array;
  readonly anchorSha256?: string;
  /** Validate at this time (default: now); a token is checked at its genTime unless it is given. */
  readonly at?: Date;
}

/** Verifies what the page was given; throws only for input the page cannot use. */
export async function verifyInput(p: PageInput): Promise<Report> {
  const certificates = p.anchor === undefined ? [] : objectsOf(p.anchor, 'chain');
  const pin = p.anchorSha256?.trim().toLowerCase().replace(/:/g, '') ?? '';
  if (pin !== '' && fromHex(pin)?.length !== 32) {
    throw new Error('the SHA-256 of the anchor must be 64 hex digits');
  }
  const options = {
    anchors: { certificates, sha256: pin === '' ? [] : [pin] },
    at: p.at ?? new Date(),
  };
  const objects = objectsOf(p.input, p.kind);
  switch (p.kind) {
    case 'token':
      return inspectToken(objects[0]!, {
        anchors: options.anchors,
        ...(p.at === undefined ? {} : { atOverride: p.at }),
        ...(p.data === undefined ? {} : { data: p.data }),
      });
    case 'evidence':
      return inspectEvidence(objects[0]!, options);
    case 'chain':
      return verifyChain(objects, options);
    case 'certificate':
      return inspectAttestationCertificate(objects, options);
  }
}

async function fileBytes(input: HTMLInputElement): Promise<Uint8Array | undefined> {
  const file = input.files?.[0];
  return file === undefined ? undefined : new Uint8Array(await file.arrayBuffer());
}

function element(id: string): HTMLElement {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`the page lacks #${id}`);
  return e;
}

function field(id: string): HTMLInputElement {
  const e = element(id);
  if (!(e instanceof HTMLInputElement)) throw new Error(`#${id} is not an input`);
  return e;
}

function show(report: Report): void {
  const outcome = element('outcome');
  outcome.textContent = report.outcome.toUpperCase();
  outcome.className = report.outcome === 'verified' ? 'ok' : 'bad';
  const body = element('checks');
  if (!(body instanceof HTMLTableSectionElement)) throw new Error('#checks is not a table body');
  body.replaceChildren();
  for (const c of report.checks) {
    const row = body.insertRow();
    row.className = c.status;
    for (const text of [c.id, c.status, c.detail]) row.insertCell().textContent = text;
  }
  element('claims').textContent = JSON.stringify(report.claims, null, 2);
}

function kindOf(e: HTMLElement): Kind {
  const v = e instanceof HTMLSelectElement ? e.value : '';
  if (v === 'token' || v === 'evidence' || v === 'chain' || v === 'certificate') return v;
  throw new Error('choose what to verify');
}

async function run(): Promise<void> {
  const input = await fileBytes(field('input'));
  if (input === undefined) throw new Error('choose the file to verify');
  const data = await fileBytes(field('data'));
  const anchor = await fileBytes(field('anchor'));
  const at = field('at').value;
  show(
    await verifyInput({
      kind: kindOf(element('kind')),
      input,
      ...(data === undefined ? {} : { data }),
      ...(anchor === undefined ? {} : { anchor }),
      anchorSha256: field('anchor-sha256').value,
      ...(at === '' ? {} : { at: new Date(at) }),
    }),
  );
}

if (typeof document !== 'undefined') {
  element('verify').addEventListener('click', () => {
    element('error').textContent = '';
    run().catch((error: unknown) => {
      element('outcome').textContent = 'UNUSABLE INPUT';
      element('outcome').className = 'bad';
      element('error').textContent = error instanceof Error ? error.message : 'unknown error';
    });
  });
}
