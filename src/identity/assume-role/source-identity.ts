/**
 * @module identity/assume-role/source-identity
 * Source identity: once a session has one, every session chained from it carries it unchanged; a
 * request that names another is denied as `sts:SetSourceIdentity` (IAM User Guide, "Monitor and control
 * actions taken with assumed roles": https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_monitor.html).
 */
import { AssumeRoleError } from './errors.ts'
import type { RoleSessionInfo } from '../types.ts'

/** The source identity the new session carries: the caller's, else the requested one. */
export function carrySourceIdentity(input: {
  requested: string | undefined
  callerSession: RoleSessionInfo | undefined
  principal: string
  resource: string
}): string | undefined {
  const inherited = input.callerSession?.sourceIdentity
  if (inherited !== undefined && input.requested !== undefined && input.requested !== inherited) {
    const action = 'sts:SetSourceIdentity'
    throw new AssumeRoleError(
      'SOURCE_IDENTITY_CHANGED',
      `User: ${input.principal} is not authorized to perform: ${action} on resource: ${input.resource}`,
      { denial: { principal: input.principal, action, resource: input.resource } },
    )
  }
  return input.requested ?? inherited
}
