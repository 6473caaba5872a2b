// The router's table: every operationId of the OpenAPI document and its handler. The app
// refuses to start when the two differ, so that a documented route always exists.
//
// The key operations (sign, verify with data or a digest) join this table from
// key-operations.ts: `signKey` and `verifyKey` for POST /v1/partitions/{partition}/keys/{label}/sign
// and /verify, added to api/openapi.yaml at the same time.
import { approvalRoutes } from './approvals.js';
import { auditRoutes } from './audit.js';
import { governanceRoutes } from './governance.js';
import { keyRoutes } from './keys.js';
import { partitionRoutes } from './partitions.js';
import type { Handler, RouteContext } from './types.js';

export type { Answer, Call, Handler, RouteContext } from './types.js';

export function createHandlers(context: RouteContext): Readonly<Record<string, Handler>> {
  return {
    ...partitionRoutes(context),
    ...keyRoutes(context),
    ...approvalRoutes(context),
    ...governanceRoutes(context),
    ...auditRoutes(context),
  };
}
