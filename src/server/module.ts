import type { Hono } from 'hono'
import type { AppContext } from '../app/context.ts'

/**
 * A protocol module mounts its routes on the one route table the server owns. Each module claims distinct
 * paths or dispatch keys (AWS query `Action` + SigV4 service at `/`, `/clusters/…`, `/v1/…`, `/{tenant}/…`).
 */
export interface ProtocolModule {
  name: string
  mount(app: Hono, ctx: AppContext): void
}
