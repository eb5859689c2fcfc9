/**
 * @module analysis/render/text
 * The terminal report and the stable JSON shape (`{ findings, workloads }` plus the graph and statistics).
 */
import type { ScanReport } from '../model.ts'

export function renderJson(report: ScanReport): string {
  return `${JSON.stringify(
    {
      findings: report.findings.map((f) => ({
        id: f.id,
        severity: f.severity,
        objects: f.objects,
        message: f.message,
        remediation: f.remediation,
        ...(f.sources !== undefined ? { sources: f.sources } : {}),
      })),
      workloads: report.workloads,
      edges: report.edges,
      permissions: report.permissions,
      stats: report.stats,
    },
    null,
    2,
  )}\n`
}

export function renderText(report: ScanReport): string {
  const lines: string[] = []
  const counts = new Map<string, number>()
  for (const f of report.findings) counts.set(f.severity, (counts.get(f.severity) ?? 0) + 1)
  lines.push(
    `podtrust scan: ${report.stats.pods} pod spec(s), ${report.stats.serviceAccounts} ServiceAccount(s), ${report.stats.roles} role(s); ${report.stats.trustEvaluations} trust evaluation(s)`,
  )
  lines.push(
    `findings: ${report.findings.length} (${['critical', 'high', 'medium', 'low', 'info'].map((s) => `${s} ${counts.get(s) ?? 0}`).join(', ')})`,
  )
  lines.push('')
  for (const f of report.findings) {
    lines.push(`${f.severity.toUpperCase().padEnd(8)} ${f.id.padEnd(9)} ${f.message}`)
    lines.push(`${' '.repeat(18)}objects: ${f.objects.join(', ')}`)
    lines.push(`${' '.repeat(18)}fix: ${f.remediation}`)
  }
  if (report.workloads.length > 0) {
    lines.push('', 'workloads:')
    for (const w of report.workloads) {
      const sdk =
        w.credentialSourceBySdk.python === w.credentialSourceBySdk.javascript
          ? w.credentialSource
          : `python ${w.credentialSourceBySdk.python}, javascript ${w.credentialSourceBySdk.javascript}`
      lines.push(
        `  ${w.pod} (${w.kind === 'Pod' ? '' : `${w.kind}, `}sa ${w.serviceAccount}) uses ${sdk}; roles: ${w.roles.length > 0 ? w.roles.join(', ') : '-'}`,
      )
    }
  }
  if (report.stats.skippedDocuments.length > 0) {
    lines.push('', 'skipped documents (not Kubernetes objects):')
    for (const s of report.stats.skippedDocuments) lines.push(`  ${s.source}: ${s.reason}`)
  }
  if (report.stats.warnings.length > 0) {
    lines.push('', 'warnings:')
    for (const w of report.stats.warnings) lines.push(`  ${w}`)
  }
  return `${lines.join('\n')}\n`
}
