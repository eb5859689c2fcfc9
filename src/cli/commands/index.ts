import type { Command } from '../command.ts'
import { upCommand } from './up.ts'
import { applyCommand } from './apply.ts'
import { exportCommand } from './export.ts'
import { tokenCommand } from './token.ts'
import { keysCommand } from './keys.ts'
import { certsCommand } from './certs.ts'
import { auditCommand } from './audit.ts'
import { clusterCommand } from './cluster.ts'
import { agentCommand } from './agent.ts'
import { azureCommand } from './azure.ts'
import { gcpCommand } from './gcp.ts'
import { policyCommand } from './policy.ts'
import { webhookCommand } from './webhook.ts'
import { scanCommand } from './scan.ts'
import { doctorCommand } from './doctor.ts'
import { testCommand } from './test.ts'
import { adminCredentialsCommand } from '../../aws/iam/admin-command.ts'

/**
 * Every top-level command, in the order `podtrust --help` lists them. Each command lives in its own module
 * under this folder; adding one is one import and one entry here.
 */
export const commands: Command[] = [
  upCommand,
  applyCommand,
  exportCommand,
  tokenCommand,
  keysCommand,
  certsCommand,
  auditCommand,
  clusterCommand,
  agentCommand,
  azureCommand,
  gcpCommand,
  policyCommand,
  webhookCommand,
  scanCommand,
  doctorCommand,
  testCommand,
  adminCredentialsCommand,
]
