/**
 * @module server/context
 * Kept for code written before the move: the `AppContext` lives in `src/app/context.ts` (below the adapters).
 * Import it from there; adapters and the domain must not import `server/`.
 */
export type { AppContext, Logger, ServerSettings } from '../app/context.ts'
