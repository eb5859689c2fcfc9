/**
 * @module policy
 * podtrust's IAM policy engine: parse, validate, compile once, authorize many times, explain. Pure: no I/O, no
 * clock (time-based condition keys come from the caller's context).
 */
export type { AuthorizationRequest } from './authorize.ts'
export type {
  AuthorizationRequestOf,
  AuthorizationResult,
  Blocker,
  Decision,
  Finding,
  MismatchElement,
  OrgLevel,
  PolicyType,
  Severity,
  SimulationRequestOf,
  StatementMismatch,
  StatementRef,
} from './types.ts'
export { blockers, mismatchElements, policyTypes } from './types.ts'
export type { CompiledPolicy, CompileOptions, PolicyModel, StatementModel } from './compile.ts'
export { compilePolicy, parsePolicy, MAX_DOCUMENT_BYTES } from './compile.ts'
export { authorize, RCP_FULL_AWS_ACCESS } from './authorize.ts'
export { simulate, isResourcePattern, type SimulationRequest } from './simulate.ts'
export { isAwsOwnedResourceWrite, isKmsAliasRequest } from './services.ts'
export { validatePolicy } from './validate.ts'
export type { ValidateOptions, ValidationResult } from './validate.ts'
export { PolicyError, type PolicyErrorCode } from './errors.ts'
export { ANONYMOUS } from './principal.ts'
export {
  engineCaseRequest,
  engineCaseSimulation,
  parseEngineCase,
  isGateAction,
  type EngineCase,
} from './cases.ts'
