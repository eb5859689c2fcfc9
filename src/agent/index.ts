/**
 * @module agent
 * The Pod Identity node agent: `startAgent` with a credential source (in-process EKS Auth for
 * `podtrust up --agent-port`, or `remoteSource` for `podtrust agent --server URL`).
 */
export { startAgent, POD_IDENTITY_AGENT_HOSTS } from './server.ts'
export type { AgentOptions, RunningAgent } from './server.ts'
export {
  remoteSource,
  environmentCredentials,
  parseEksAuthResponse,
  UpstreamError,
} from './source.ts'
export type { CredentialSource, PodCredentials, RemoteSourceOptions } from './source.ts'
export { createCredentialCache } from './cache.ts'
export { signRequest } from '../aws/sigv4/sign.ts'
export { startImds, IMDS_HOSTS, MAX_TOKEN_TTL_SECONDS } from './imds.ts'
export type { ImdsOptions, RunningImds, NodeRoleSource, InstanceIdentity } from './imds.ts'
