/**
 * @module aws/iam/config-groups
 * The `groups` section of podtrust's YAML config: IAM user groups, their inline policies and managed
 * attachments, and their members. Declarative per listed group, as the other IAM sections: a group is created or
 * updated to match (policies and members become exactly the listed ones); groups the file does not list are left
 * alone. Members name users of the group's account (the `users` section applies first). IAM API reference,
 * CreateGroup / AddUserToGroup: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateGroup.html
 *
 * @example
 * groups:
 *   - name: readers
 *     path: /teams/
 *     managedPolicies: [arn:aws:iam::aws:policy/ReadOnlyAccess]
 *     members: [dev]
 */
import { invalidAt } from '../../config/errors.ts'
import { join, list, object, optional, string } from '../../config/schema.ts'
import type { ConfigSection } from '../../config/section.ts'
import { GROUPS_PER_ACCOUNT, GROUPS_PER_USER } from './actions-groups.ts'
import {
  enterPrincipal,
  exported,
  exportPrincipalPolicies,
  HINT,
  keepPath,
  NAME,
  principalIdentity,
  principalPolicies,
  random,
  syncPolicies,
  withAccount,
  type PrincipalPolicies,
} from './config.ts'
import { groupArn, ID_PREFIX, newUniqueId } from './ids.ts'
import { createIamRepo, type IamRepo } from './repo.ts'

export interface GroupConfig extends PrincipalPolicies {
  name: string
  account?: string
  path: string
  /** User names; the group's members become exactly these. */
  members: string[]
  path_: string
}

/** Makes the group's members exactly `members` (users of the account, at most 10 groups each). */
async function syncMembers(
  repo: IamRepo,
  accountId: string,
  c: GroupConfig,
  groupName: string,
  now: Date,
): Promise<void> {
  const wanted = new Map<string, string>()
  for (const [j, name] of c.members.entries()) {
    const user = await repo.getUser(accountId, name)
    if (user === undefined)
      throw invalidAt(
        join(join(c.path_, 'members'), j),
        `user \`${name}\` does not exist (define it under \`users\`)`,
        HINT,
      )
    wanted.set(user.userName.toLowerCase(), user.userName)
  }
  const current = new Set(await repo.listGroupMembers(accountId, groupName))
  for (const member of current)
    if (!wanted.has(member)) await repo.removeUserFromGroup(accountId, groupName, member)
  for (const [lower, userName] of wanted) {
    if (current.has(lower)) continue
    if ((await repo.listGroupsForUser(accountId, userName)).length >= GROUPS_PER_USER)
      throw invalidAt(
        join(c.path_, 'members'),
        `LimitExceeded: Cannot exceed quota for GroupsPerUser: ${GROUPS_PER_USER}`,
        HINT,
      )
    await repo.addUserToGroup(accountId, groupName, userName, now)
  }
}

export const groupsSection: ConfigSection<GroupConfig[]> = {
  key: 'groups',
  parse(value, path) {
    return list(value, path).map((item, i) => {
      const p = join(path, i)
      const o = object(item, p, {
        required: ['name'],
        optional: ['account', 'path', 'policies', 'managedPolicies', 'members'],
      })
      return {
        ...principalIdentity(o, p, 128),
        ...principalPolicies(o, p),
        members: (optional(o['members'], (v) => list(v, join(p, 'members'))) ?? []).map((m, j) =>
          string(m, join(join(p, 'members'), j), { pattern: NAME, max: 64 }),
        ),
        path_: p,
      }
    })
  },
  async apply(tx, value, env) {
    const repo = createIamRepo(tx)
    for (const c of value) {
      const accountId = await enterPrincipal(repo, c, env)
      let group = await repo.getGroup(accountId, c.name)
      if (group === undefined) {
        if ((await repo.countGroups(accountId)) >= GROUPS_PER_ACCOUNT)
          throw invalidAt(
            c.path_,
            `LimitExceeded: Cannot exceed quota for GroupsPerAccount: ${GROUPS_PER_ACCOUNT}`,
            HINT,
          )
        group = {
          accountId,
          groupName: c.name,
          groupId: newUniqueId(ID_PREFIX.group, accountId, random),
          arn: groupArn(accountId, c.path, c.name),
          path: c.path,
          createDate: env.now,
        }
        await repo.insertGroup(group)
      } else keepPath('group', group.path, c)
      await syncPolicies(repo, accountId, 'group', group.groupName, c, c.path_, env.now)
      await syncMembers(repo, accountId, c, group.groupName, env.now)
    }
  },
  async export(db, env) {
    const repo = createIamRepo(db)
    const out = []
    for (const a of await repo.listAccounts()) {
      const users = new Map(
        (await repo.listUsers(a.accountId)).map((u) => [u.userName.toLowerCase(), u.userName]),
      )
      for (const g of await repo.listGroups(a.accountId)) {
        const members = (await repo.listGroupMembers(a.accountId, g.groupName))
          .map((m) => users.get(m) ?? m)
          .sort()
        out.push({
          name: g.groupName,
          ...withAccount(a.accountId, env),
          ...(g.path === '/' ? {} : { path: g.path }),
          ...(await exportPrincipalPolicies(repo, a.accountId, 'group', g.groupName)),
          ...(members.length === 0 ? {} : { members }),
        })
      }
    }
    return exported<GroupConfig>(out)
  },
}
