/**
 * @module identity/assume-role
 * The assume-role pipeline: its named steps and the shared tail (see `pipeline.ts` for the order), and
 * GetFederationToken composed from the same steps (`federation.ts`).
 */
export * from './errors.ts'
export * from './parameters.ts'
export * from './role-arn.ts'
export * from './duration.ts'
export * from './tags.ts'
export * from './source-identity.ts'
export * from './trust.ts'
export * from './session-policy.ts'
export * from './pipeline.ts'
export * from './federation.ts'
