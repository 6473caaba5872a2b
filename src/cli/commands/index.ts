// The index of the operator CLI's commands: each command's words, and how to load it. A command's
// module (and the HSM, TSA, PKI or API modules it needs) is loaded only when that command runs, so
// that `attestamp key list` does not pay for the time-stamp server, nor `--version` for anything.
import type { Command } from '../command.js';

export interface CommandEntry {
  /** The words that name the command (`key generate`). */
  readonly path: readonly string[];
  /** Loads the command's module and returns its definition. */
  load(): Promise<Command>;
}

const device = () => import('./device.js');
const start = () => import('./start.js');
const serve = () => import('./serve.js');
const api = () => import('./api.js');
const partition = () => import('./partition.js');
const crl = () => import('./crl.js');
const officer = () => import('./officer.js');
const approvals = () => import('./approvals.js');
const key = () => import('./key.js');
const keyUse = () => import('./key-use.js');
const keySecret = () => import('./key-secret.js');
const keyAgreement = () => import('./key-agreement.js');
const keyHd = () => import('./key-hd.js');
const chain = () => import('./chain.js');
const stamp = () => import('./stamp.js');
const audit = () => import('./audit.js');
const store = () => import('./store.js');
const archive = () => import('./archive.js');
const passwd = () => import('./passwd.js');
const backup = () => import('./backup.js');
const migrate = () => import('./migrate.js');
const transport = () => import('./transport.js');

export const COMMAND_INDEX: readonly CommandEntry[] = [
  { path: ['start'], load: async () => (await start()).start },
  { path: ['serve'], load: async () => (await serve()).serve },
  { path: ['api'], load: async () => (await api()).api },
  { path: ['init'], load: async () => (await device()).init },
  { path: ['status'], load: async () => (await device()).status },
  { path: ['factory', 'init'], load: async () => (await device()).factoryInit },
  { path: ['partition', 'create'], load: async () => (await partition()).partitionCreate },
  { path: ['partition', 'list'], load: async () => (await partition()).partitionList },
  { path: ['partition', 'show'], load: async () => (await partition()).partitionShow },
  { path: ['partition', 'policy'], load: async () => (await partition()).partitionPolicy },
  { path: ['partition', 'backup'], load: async () => (await backup()).partitionBackup },
  { path: ['partition', 'restore'], load: async () => (await backup()).partitionRestore },
  {
    path: ['partition', 'migrate', 'receipt'],
    load: async () => (await migrate()).partitionMigrateReceipt,
  },
  {
    path: ['partition', 'migrate', 'complete'],
    load: async () => (await migrate()).partitionMigrateComplete,
  },
  { path: ['backup', 'open-share'], load: async () => (await backup()).backupOpenShare },
  { path: ['domain', 'create'], load: async () => (await backup()).domainCreate },
  { path: ['domain', 'list'], load: async () => (await backup()).domainList },
  { path: ['domain', 'join-request'], load: async () => (await backup()).domainJoinRequest },
  { path: ['domain', 'enrol'], load: async () => (await backup()).domainEnrol },
  { path: ['domain', 'join'], load: async () => (await backup()).domainJoin },
  { path: ['backup', 'inspect'], load: async () => (await backup()).backupInspect },
  {
    path: ['device', 'transport-key', 'create'],
    load: async () => (await transport()).transportKeyCreate,
  },
  {
    path: ['device', 'transport-key', 'list'],
    load: async () => (await transport()).transportKeyList,
  },
  {
    path: ['device', 'transport-key', 'certificate'],
    load: async () => (await transport()).transportKeyCertificate,
  },
  { path: ['partition', 'revoke'], load: async () => (await crl()).partitionRevoke },
  { path: ['partition', 'exclude-so'], load: async () => (await officer()).partitionExcludeSo },
  { path: ['partition', 'include-so'], load: async () => (await officer()).partitionIncludeSo },
  { path: ['officer', 'add'], load: async () => (await officer()).officerAdd },
  { path: ['officer', 'list'], load: async () => (await officer()).officerList },
  { path: ['officer', 'grant'], load: async () => (await officer()).officerGrant },
  { path: ['officer', 'revoke'], load: async () => (await officer()).officerRevoke },
  { path: ['officer', 'key-challenge'], load: async () => (await officer()).officerKeyChallenge },
  { path: ['officer', 'enroll-key'], load: async () => (await officer()).officerEnrollKey },
  { path: ['officer', 'revoke-key'], load: async () => (await officer()).officerRevokeKey },
  { path: ['officer', 'keys'], load: async () => (await officer()).officerKeys },
  { path: ['quorum', 'show'], load: async () => (await officer()).quorumShow },
  { path: ['quorum', 'set'], load: async () => (await officer()).quorumSet },
  { path: ['approvals', 'list'], load: async () => (await approvals()).approvalsList },
  { path: ['approvals', 'show'], load: async () => (await approvals()).approvalsShow },
  { path: ['approvals', 'sign'], load: async () => (await approvals()).approvalsSign },
  { path: ['approvals', 'submit'], load: async () => (await approvals()).approvalsSubmit },
  { path: ['approvals', 'cancel'], load: async () => (await approvals()).approvalsCancel },
  { path: ['approvals', 'execute'], load: async () => (await approvals()).approvalsExecute },
  { path: ['approvals', 'download'], load: async () => (await approvals()).approvalsDownload },
  { path: ['key', 'generate'], load: async () => (await key()).keyGenerate },
  { path: ['key', 'list'], load: async () => (await key()).keyList },
  { path: ['key', 'show'], load: async () => (await key()).keyShow },
  { path: ['key', 'public'], load: async () => (await key()).keyPublic },
  { path: ['key', 'attest'], load: async () => (await key()).keyAttest },
  { path: ['key', 'delete'], load: async () => (await key()).keyDelete },
  { path: ['key', 'restore'], load: async () => (await key()).keyRestore },
  { path: ['key', 'purge'], load: async () => (await key()).keyPurge },
  { path: ['key', 'export'], load: async () => (await key()).keyExport },
  { path: ['key', 'import'], load: async () => (await key()).keyImport },
  { path: ['key', 'sign'], load: async () => (await keyUse()).keySign },
  { path: ['key', 'verify'], load: async () => (await keyUse()).keyVerify },
  { path: ['key', 'encrypt'], load: async () => (await keySecret()).keyEncrypt },
  { path: ['key', 'decrypt'], load: async () => (await keySecret()).keyDecrypt },
  { path: ['key', 'mac'], load: async () => (await keySecret()).keyMac },
  { path: ['key', 'verify-mac'], load: async () => (await keySecret()).keyVerifyMac },
  { path: ['key', 'wrap'], load: async () => (await keySecret()).keyWrap },
  { path: ['key', 'unwrap'], load: async () => (await keySecret()).keyUnwrap },
  { path: ['key', 'derive'], load: async () => (await keyAgreement()).keyDerive },
  {
    path: ['key', 'encapsulate'],
    load: async () => (await keyAgreement()).keyEncapsulate,
  },
  { path: ['key', 'derive-child'], load: async () => (await keyHd()).keyDeriveChild },
  { path: ['key', 'address'], load: async () => (await keyHd()).keyAddress },
  { path: ['key', 'block'], load: async () => (await keyUse()).keyBlock },
  { path: ['key', 'unblock'], load: async () => (await keyUse()).keyUnblock },
  { path: ['key', 'policy'], load: async () => (await keyUse()).keyPolicy },
  { path: ['chain'], load: async () => (await chain()).chain },
  { path: ['crl', 'issue'], load: async () => (await crl()).crlIssue },
  { path: ['stamp'], load: async () => (await stamp()).stamp },
  { path: ['audit', 'verify'], load: async () => (await audit()).auditVerify },
  { path: ['audit', 'head'], load: async () => (await audit()).auditHead },
  { path: ['audit', 'export'], load: async () => (await audit()).auditExport },
  { path: ['store', 'migrate'], load: async () => (await store()).storeMigrate },
  { path: ['tsa', 'archive', 'verify'], load: async () => (await archive()).archiveVerify },
  { path: ['tsa', 'archive', 'export'], load: async () => (await archive()).archiveExport },
  { path: ['tsa', 'archive', 'find'], load: async () => (await archive()).archiveFind },
  { path: ['tsa', 'archive', 'get'], load: async () => (await archive()).archiveGet },
  { path: ['tsa', 'passwd'], load: async () => (await passwd()).tsaPasswd },
];
