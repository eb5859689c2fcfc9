/**
 * @module server/module
 * Kept for code written before the move: `ProtocolModule` lives in `src/app/module.ts` (below the adapters).
 */
export type { ProtocolModule, StartupHook, AdminCredentialProvider } from '../app/module.ts'
