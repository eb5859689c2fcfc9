/**
 * @module app/module
 * The shape every protocol module exports, and what the composition root (`src/server/modules.ts`) collects
 * from them into one app instance: the migration list, the config sections, the start-up hooks, the
 * administrator-credential providers and the route table. A module never pushes itself into a global list.
 *
 * @example
 * export const eksModule: ProtocolModule = {
 *   name: 'eks',
 *   migrations: eksMigrations,
 *   configSections: [clustersSection, podIdentityAssociationsSection],
 *   mount(app, ctx) { mountEksRoutes(app, …) },
 * }
 */
import type { IncomingMessage } from 'node:http'
import type { Hono } from 'hono'
import type { ConfigSection } from '../config/section.ts'
import type { Migration } from '../store/db.ts'
import type { AppContext } from './context.ts'

/** Runs once the store is open and migrated, before config files apply and the listeners accept requests. */
export type StartupHook = (ctx: AppContext) => Promise<void>

/** The administrator's access key for IAM calls (what `podtrust up` prints), or undefined when none. */
export type AdminCredentialProvider = (
  ctx: AppContext,
) => Promise<{ accessKeyId: string; secretAccessKey?: string } | undefined>

/** A whole answer of a plain node:http route: what the module's Hono route would have sent. */
export interface NodeAnswer {
  status: number
  /** Header names as the Hono route sends them; `Content-Length` is added by the listener. */
  headers: Record<string, string>
  body: string
}

/**
 * A route the listener serves on plain node:http before the Hono route table, for the hottest request
 * shape (an awsQuery form POST to `/`): it skips the Web `Request`/`Response` conversion, which cost about a
 * fifth of an AssumeRoleWithWebIdentity (docs/sts.md, Benchmark). It must answer byte for byte what the
 * module's Hono route answers for the same request; the listener keeps the route table's middleware
 * (rate limit, metrics, logs, error answers).
 */
export interface NodeRoute {
  /** Decided on the request line and headers alone, before the body is read. */
  matches(req: IncomingMessage): boolean
  /**
   * Rejects only where the Hono route would throw (the route table's error answer then applies).
   * `startedAt`: `process.hrtime.bigint()` at arrival, for the decision-latency metric.
   */
  handle(req: IncomingMessage, startedAt: bigint): Promise<NodeAnswer>
}

export interface ProtocolModule {
  name: string
  /** The module's tables, ids prefixed with the module name (`iam-0001-roles`); run once each at start. */
  migrations?: readonly Migration[]
  /** The module's top-level YAML keys, in apply order (accounts before what lives in them). */
  configSections?: readonly ConfigSection[]
  /** Bootstraps (e.g. IAM's administrator), in order, after migrations and before the demo seed/config. */
  startupHooks?: readonly StartupHook[]
  /** How `podtrust up` finds the administrator's key to print; the first module with one wins. */
  adminCredentials?: AdminCredentialProvider
  /**
   * Adds the module's routes to the one route table. Each module claims distinct paths or dispatch keys
   * (`/clusters/…`, `/v1/…`, `/{tenant}/…`; the awsQuery front door takes every remaining form POST, last).
   */
  mount?(app: Hono, ctx: AppContext): void
  /** The module's plain node:http routes (`NodeRoute`), tried in module order before the route table. */
  nodeRoutes?(ctx: AppContext): readonly NodeRoute[]
}
