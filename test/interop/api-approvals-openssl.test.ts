// A quorum-guarded key export end to end through the REST API, with plain OpenSSL on the other
// side: the approver key made and its enrolment proof signed by `openssl`, the export answered
// 202 with its approval request, the decision signed with `openssl dgst -sha256 -sign` over the
// bytes the API gave, the request executed, and the wrapped key unwrapped by `openssl pkeyutl`
// (RSA-OAEP-SHA256) and `openssl enc -id-aes256-wrap-pad` to the key whose public key the API
// showed.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument -- every answer is checked against the OpenAPI document by the client before a test reads its fields as plain JSON */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiFixture, type ApiFixture } from '../helpers/api.js';
import { OFFICER } from '../helpers/hsm.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';

function openssl(args: readonly string[], cwd: string): Buffer {
  const r = spawnSync('openssl', args, { cwd, timeout: 60_000 });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr.toString()}`);
  return r.stdout;
}

const skip = requireTool('openssl');

describe.skipIf(skip)('a guarded export through the API, approved with openssl', () => {
  let f: ApiFixture;
  let cwd: string;
  let so: string;
  let officer: string;

  beforeAll(async () => {
    cwd = tempDir('api-openssl-');
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ann.pem'], cwd);
    openssl(['pkey', '-in', 'ann.pem', '-pubout', '-out', 'ann.pub.pem'], cwd);
    openssl(
      ['genpkey', '-algorithm', 'rsa', '-pkeyopt', 'rsa_keygen_bits:3072', '-out', 'wrap.pem'],
      cwd,
    );
    openssl(['pkey', '-in', 'wrap.pem', '-pubout', '-out', 'wrap.pub.pem'], cwd);
    f = await startApiFixture();
    so = await f.token('api-so', ['device-so'], []);
    officer = await f.token('app-officer', ['crypto-officer', 'pso'], ['default']);
    // Approvers are people enrolled by an officer (the CLI's `officer add`).
    await f.hsm.governance.addOfficer(
      { name: 'ann', passphrase: 'passphrase of ann' },
      [{ role: 'pso', partition: 'default' }],
      OFFICER,
    );
  }, 120_000);

  afterAll(async () => {
    await f.close();
  });

  it('answers 202, takes the openssl-signed approval, and exports once executed', async () => {
    const annPem = readFileSync(join(cwd, 'ann.pub.pem'), 'utf8');
    // Enrolment: the proof of possession signed by openssl over the API's challenge.
    const ch = await f.request('POST', '/v1/approver-keys/challenge', {
      token: so,
      json: { principal: 'ann', publicKey: annPem },
    });
    writeFileSync(join(cwd, 'enrol.bin'), Buffer.from(ch.json.bytes, 'base64'));
    openssl(['dgst', '-sha256', '-sign', 'ann.pem', '-out', 'enrol.sig', 'enrol.bin'], cwd);
    const enrolled = await f.request('POST', '/v1/approver-keys', {
      token: so,
      json: {
        principal: 'ann',
        publicKey: annPem,
        proof: readFileSync(join(cwd, 'enrol.sig')).toString('base64'),
      },
    });
    expect(enrolled.status).toBe(201);
    const fingerprint = enrolled.json.fingerprint as string;

    // The partition allows export, a key is made, and key.export is guarded by ann.
    expect(
      (
        await f.request('PATCH', '/v1/partitions/default/policy', {
          token: officer,
          json: { exportAllowed: true },
        })
      ).status,
    ).toBe(200);
    const key = await f.request('POST', '/v1/partitions/default/keys', {
      token: officer,
      json: { label: 'exp', algorithm: 'ecdsa-p256', extractable: true },
    });
    expect(key.status).toBe(201);
    const rule = await f.request('PUT', '/v1/quorum-rules/key.export?partition=default', {
      token: officer,
      json: {
        rule: {
          timeoutSeconds: 3600,
          alternatives: [{ groups: [{ members: ['ann'], threshold: 1 }] }],
        },
      },
    });
    expect(rule.status).toBe(200);

    // The export becomes a request.
    const wrappingKey = readFileSync(join(cwd, 'wrap.pub.pem'), 'utf8');
    const asked = await f.request('POST', '/v1/partitions/default/keys/exp/export', {
      token: officer,
      json: { wrappingKey },
    });
    expect(asked.status).toBe(202);
    const id = asked.json.id as string;
    expect(asked.headers.location).toBe(`/v1/approvals/${id}`);
    expect(asked.json.statement).toMatchObject({
      operation: 'key.export',
      requester: 'jwt:app-officer',
    });

    // The HSM's signature over the statement verifies with openssl against the partition's
    // attestation certificate.
    const chain = await f.request('GET', '/v1/partitions/default/chain', { token: officer });
    writeFileSync(join(cwd, 'att.pem'), chain.json.partitionAttestation);
    openssl(['x509', '-in', 'att.pem', '-pubkey', '-noout', '-out', 'att.pub.pem'], cwd);
    writeFileSync(join(cwd, 'statement.bin'), Buffer.from(asked.json.statementBytes, 'base64'));
    writeFileSync(join(cwd, 'statement.sig'), Buffer.from(asked.json.signature, 'hex'));
    const verified = spawnSync(
      'openssl',
      ['dgst', '-sha384', '-verify', 'att.pub.pem', '-signature', 'statement.sig', 'statement.bin'],
      { cwd },
    );
    expect(verified.stdout.toString()).toContain('Verified OK');

    // Ann signs the exact bytes the API gives, with openssl.
    const shown = await f.request(
      'GET',
      `/v1/approvals/${id}?decision=approve&approverKey=${fingerprint}`,
      { token: officer },
    );
    expect(shown.json.toSign.openssl).toContain('openssl dgst -sha256 -sign');
    writeFileSync(join(cwd, 'request.bin'), Buffer.from(shown.json.toSign.bytes, 'base64'));
    openssl(['dgst', '-sha256', '-sign', 'ann.pem', '-out', 'request.sig', 'request.bin'], cwd);
    const decided = await f.request('POST', `/v1/approvals/${id}/decisions`, {
      token: officer,
      json: {
        decision: 'approve',
        approverKey: fingerprint,
        signature: readFileSync(join(cwd, 'request.sig')).toString('base64'),
      },
    });
    expect(decided.json.state).toBe('approved');

    const done = await f.request('POST', `/v1/approvals/${id}/execute`, { token: officer });
    expect(done.json.state).toBe('executed');
    const wrapped = Buffer.from(done.json.result.wrapped as string, 'hex');

    // RSA-OAEP(SHA-256) of an AES-256 key, then RFC 5649 AES-KWP of the PKCS#8 key.
    writeFileSync(join(cwd, 'head.bin'), wrapped.subarray(0, 384));
    writeFileSync(join(cwd, 'tail.bin'), wrapped.subarray(384));
    const aes = openssl(
      [
        'pkeyutl',
        '-decrypt',
        '-inkey',
        'wrap.pem',
        '-pkeyopt',
        'rsa_padding_mode:oaep',
        '-pkeyopt',
        'rsa_oaep_md:sha256',
        '-in',
        'head.bin',
      ],
      cwd,
    );
    expect(aes.length).toBe(32);
    const pkcs8 = openssl(
      [
        'enc',
        '-d',
        '-id-aes256-wrap-pad',
        '-K',
        aes.toString('hex'),
        '-iv',
        'A65959A6',
        '-in',
        'tail.bin',
      ],
      cwd,
    );
    writeFileSync(join(cwd, 'exported.der'), pkcs8);
    const pub = openssl(
      ['pkey', '-inform', 'DER', '-in', 'exported.der', '-pubout'],
      cwd,
    ).toString();
    expect(pub.trim()).toBe((key.json.publicKey.pem as string).trim());

    // Executed once: a second execution is refused.
    const again = await f.request('POST', `/v1/approvals/${id}/execute`, { token: officer });
    expect([again.status, again.json.code]).toEqual([409, 'request-closed']);
  });
});
