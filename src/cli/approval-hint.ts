// The next steps printed under the error line of a command that an approval rule turned into a
// request.
import { AttestampError } from '../shared/index.js';

/** The next steps after a guarded command made a request (printed under its error line). */
export function approvalHint(error: unknown): string | undefined {
  // Any module's error with this code (the HSM's): checked on the shared base class, so that the
  // CLI's error path does not load the HSM module for a command that never used it.
  if (!(error instanceof AttestampError) || error.code !== 'approval-required') return undefined;
  const id = error.details?.request;
  if (typeof id !== 'string') return undefined;
  return [
    `approval request ${id} is waiting for its approvers. Next:`,
    `  attestamp approvals show ${id}          (what it will do, its rules, who has approved)`,
    `  each approver: attestamp approvals show ${id} --bytes approve --approver-key FINGERPRINT --out req.bin`,
    `                 openssl dgst -sha256 -sign key.pem -out req.sig req.bin`,
    `                 attestamp approvals submit ${id} --decision approve --approver-key FINGERPRINT --signature req.sig`,
    // A backup's bundle is what the execution makes: the command that writes it to a file.
    error.details?.operation === 'partition.backup'
      ? `  then: attestamp partition backup PARTITION --request ${id} --out FILE   (writes the bundle)`
      : `  then: attestamp approvals execute ${id}`,
    '',
  ].join('\n');
}
