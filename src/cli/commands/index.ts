import type { Command } from '../command.ts'
import { clusterCommand } from './cluster.ts'
import { agentCommand } from './agent.ts'
import { azureCommand } from './azure.ts'
import { gcpCommand } from './gcp.ts'

/**
 * Every top-level command, in the order `podtrust --help` lists them. Each command lives in its own module
 * under this folder; adding one is one import and one entry here.
 */
export const commands: Command[] = [clusterCommand, agentCommand, azureCommand, gcpCommand]
