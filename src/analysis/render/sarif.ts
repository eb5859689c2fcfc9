/**
 * @module analysis/render/sarif
 * SARIF 2.1.0 (OASIS, https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html): one run, one rule per
 * check id, one result per finding. Objects become logical locations; the input file, when known, a physical
 * one. `security-severity` follows GitHub code scanning's convention (critical 9.0+, high 7.0–8.9, medium 4.0–6.9,
 * low 0.1–3.9).
 */
import { CHECK_TITLES } from '../catalog.ts'
import type { FindingSeverity, ScanReport } from '../model.ts'

const LEVEL: Record<FindingSeverity, 'error' | 'warning' | 'note'> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
  info: 'note',
}
const SECURITY_SEVERITY: Record<FindingSeverity, string> = {
  critical: '9.5',
  high: '7.5',
  medium: '5.0',
  low: '2.0',
  info: '0.0',
}

export function renderSarif(report: ScanReport, tool: { version: string }): string {
  const ids = [...new Set(report.findings.map((f) => f.id))].sort()
  const ruleIndex = new Map(ids.map((id, i) => [id, i]))
  const worst = new Map<string, FindingSeverity>()
  const order: FindingSeverity[] = ['info', 'low', 'medium', 'high', 'critical']
  for (const f of report.findings) {
    const prev = worst.get(f.id)
    if (prev === undefined || order.indexOf(f.severity) > order.indexOf(prev))
      worst.set(f.id, f.severity)
  }
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'podtrust',
            semanticVersion: tool.version,
            informationUri: 'https://github.com/podtrust/podtrust/blob/main/docs/scan.md',
            rules: ids.map((id) => ({
              id,
              name: (CHECK_TITLES[id] ?? id)
                .replace(/[^A-Za-z0-9]+/g, ' ')
                .trim()
                .replace(/ (\w)/g, (_, c: string) => c.toUpperCase())
                .replace(/^\w/, (c) => c.toUpperCase()),
              shortDescription: { text: CHECK_TITLES[id] ?? id },
              helpUri: `https://github.com/podtrust/podtrust/blob/main/docs/scan.md#${id.toLowerCase()}`,
              defaultConfiguration: { level: LEVEL[worst.get(id) ?? 'medium'] },
              properties: {
                tags: ['security', 'workload-identity'],
                'security-severity': SECURITY_SEVERITY[worst.get(id) ?? 'medium'],
              },
            })),
          },
        },
        results: report.findings.map((f) => ({
          ruleId: f.id,
          ruleIndex: ruleIndex.get(f.id)!,
          level: LEVEL[f.severity],
          message: { text: `${f.message}. Fix: ${f.remediation}` },
          locations: [
            {
              ...(f.sources !== undefined && f.sources.length > 0
                ? {
                    physicalLocation: {
                      artifactLocation: {
                        uri: encodeURI(
                          f.sources[0]!.replace(/#\d+.*$/, '').replace(/\[\d+\].*$/, ''),
                        ),
                      },
                    },
                  }
                : {}),
              // SARIF requires unique items; a pod and its ServiceAccount may share `namespace/name`.
              logicalLocations: [...new Set(f.objects)].map((o) => ({
                name: o,
                kind: o.startsWith('arn:') ? 'resource' : 'object',
              })),
            },
          ],
          partialFingerprints: {
            'podtrustFinding/v1': fingerprint(`${f.id}|${f.objects.join('|')}`),
          },
          properties: { severity: f.severity, objects: f.objects, remediation: f.remediation },
        })),
      },
    ],
  }
  return `${JSON.stringify(log, null, 2)}\n`
}

/** FNV-1a 64-bit as hex: a stable id for a finding across runs. */
function fingerprint(text: string): string {
  let h = 0xcbf29ce484222325n
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= BigInt(byte)
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn
  }
  return h.toString(16).padStart(16, '0')
}
