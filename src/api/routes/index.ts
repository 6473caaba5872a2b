// The router's table: every operationId of the OpenAPI document and its handler. The app
// refuses to start when the two differ, so that a documented route always exists.
import { approvalRoutes } from './approvals.js';
import { auditRoutes } from './audit.js';
import { backupRoutes } from './backup.js';
import { governanceRoutes } from './governance.js';
import { keyAgreementRoutes } from './key-agreement.js';
import { keyOperationRoutes } from './key-operations.js';
import { keyRoutes } from './keys.js';
import { officerRoutes } from './officers.js';
import { partitionRoutes } from './partitions.js';
import { secretKeyRoutes } from './secret-key-operations.js';
import type { Handler, RouteContext } from './types.js';

export type { Answer, Call, Handler, RouteContext } from './types.js';

export function createHandlers(context: RouteContext): Readonly<Record<string, Handler>> {
  return {
    ...partitionRoutes(context),
    ...keyRoutes(context),
    ...keyOperationRoutes(context),
    ...secretKeyRoutes(context),
    ...keyAgreementRoutes(context),
    ...approvalRoutes(context),
    ...governanceRoutes(context),
    ...officerRoutes(context),
    ...auditRoutes(context),
    ...backupRoutes(context),
  };
}
