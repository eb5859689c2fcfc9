/**
 * @module config/sections
 * Every registered config section, in apply order (each module's own section(s) via one import and one
 * entry, appended below). Accounts come before what lives in them; see docs/config.md.
 */
import type { ConfigSection } from './section.ts'
import { issuersSection } from '../tokens/config.ts'
import { iamConfigSections } from '../aws/iam/config.ts'
import { clustersSection, podIdentityAssociationsSection } from '../aws/eks/config.ts'
import { azureConfigSection } from '../azure/config.ts'
import { gcpConfigSection } from '../gcp/config.ts'
import { databasesSection } from '../dbproxy/config.ts'

export const configSections: ConfigSection[] = [
  issuersSection as ConfigSection,
  ...(iamConfigSections as readonly ConfigSection[]),
  clustersSection as ConfigSection,
  podIdentityAssociationsSection as ConfigSection,
  azureConfigSection as ConfigSection,
  gcpConfigSection as ConfigSection,
  databasesSection as ConfigSection,
]
