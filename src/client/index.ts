// Public surface of the REST API client (`attestamp/client`): the typed client, its errors and
// the types generated from the OpenAPI document. It reaches the HSM only over HTTPS.
export { createApiClient } from './client.js';
export type {
  Algorithm,
  ApiClient,
  ApiClientOptions,
  Approval,
  ApproverKey,
  Chain,
  CrlReason,
  Decision,
  Device,
  GenerateKeyBody,
  Guarded,
  Key,
  KeyPolicyInput,
  KeyState,
  Officer,
  OperationClass,
  Partition,
  PartitionChain,
  PartitionRevocation,
  Role,
  RoleChange,
  RuleInForce,
  SignInput,
  SignResult,
  SoExclusion,
  EncryptResult,
  DecryptResult,
  MacResult,
  WrapResult,
  UnwrapBody,
  UnwrapResult,
} from './client.js';
export { ApiClientError, type ClientTransportCode, type Problem } from './errors.js';
export type { components, operations, paths } from './schema.js';
