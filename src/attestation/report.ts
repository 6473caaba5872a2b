// The verifier's report: one finding per check, an outcome and the exit code it maps to
// (standards/attestation.md "What the verifier checks": 0 verified, 1 cryptographic or chain
// failure, 2 policy failure, 3 indeterminate, 64 usage or parse error).

/**
 * `info` states a property of the input (a token's ordering flag, its signer identifier kind...):
 * it is neither a check nor a warning and never changes the outcome.
 */
export type FindingStatus = 'pass' | 'fail' | 'warn' | 'skip' | 'info';

/** Which outcome a failed check leads to. */
export type CheckKind = 'crypto' | 'policy' | 'revocation' | 'parse';

export interface Finding {
  readonly id: string;
  readonly status: FindingStatus;
  readonly detail: string;
}

export type Outcome = 'verified' | 'failed' | 'policy-failed' | 'indeterminate' | 'unparseable';

export const EXIT_CODES: Readonly<Record<Outcome, number>> = {
  verified: 0,
  failed: 1,
  'policy-failed': 2,
  indeterminate: 3,
  unparseable: 64,
};

export interface Report {
  readonly outcome: Outcome;
  readonly exitCode: number;
  readonly checks: readonly Finding[];
  /** SHA-256 of the anchor certificate (or SPKI) the path ended on, when one was reached. */
  readonly anchor: string | undefined;
  /** Decoded claims (evidence) or facts about the chain, for the JSON report. */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** Collects findings; a failure's kind decides the outcome. */
export class Findings {
  readonly list: Finding[] = [];
  private readonly failedKinds = new Set<CheckKind>();
  private indeterminate = false;

  pass(id: string, detail: string): void {
    this.list.push({ id, status: 'pass', detail });
  }
  warn(id: string, detail: string): void {
    this.list.push({ id, status: 'warn', detail });
  }
  skip(id: string, detail: string): void {
    this.list.push({ id, status: 'skip', detail });
  }
  /** A property of the input, for the report only; never affects the outcome. */
  info(id: string, detail: string): void {
    this.list.push({ id, status: 'info', detail });
  }
  fail(id: string, kind: CheckKind, detail: string): void {
    this.list.push({ id, status: 'fail', detail });
    this.failedKinds.add(kind);
  }
  /** A check that could not be decided (e.g. required revocation data missing). */
  undecided(id: string, detail: string): void {
    this.list.push({ id, status: 'warn', detail });
    this.indeterminate = true;
  }
  check(id: string, kind: CheckKind, ok: boolean, passDetail: string, failDetail: string): boolean {
    if (ok) this.pass(id, passDetail);
    else this.fail(id, kind, failDetail);
    return ok;
  }

  outcome(): Outcome {
    if (this.failedKinds.has('parse')) return 'unparseable';
    if (this.failedKinds.has('crypto')) return 'failed';
    if (this.failedKinds.has('revocation')) return 'failed';
    if (this.failedKinds.has('policy')) return 'policy-failed';
    if (this.indeterminate) return 'indeterminate';
    return 'verified';
  }

  report(anchor: string | undefined, claims: Readonly<Record<string, unknown>>): Report {
    const outcome = this.outcome();
    return { outcome, exitCode: EXIT_CODES[outcome], checks: this.list, anchor, claims };
  }
}
