/**
 * @module aws/iam/config-sections
 * The IAM sections of podtrust's YAML config, in the order they apply: what a later section names exists by then
 * (policies before the principals attaching them, users before the groups listing them as members).
 */
import {
  accountsSection,
  oidcProvidersSection,
  policiesSection,
  rolesSection,
  usersSection,
} from './config.ts'
import { groupsSection } from './config-groups.ts'

export const iamConfigSections = [
  accountsSection,
  policiesSection,
  oidcProvidersSection,
  usersSection,
  groupsSection,
  rolesSection,
] as const
