/**
 * @module generate
 * `generate(target, spec)`: the files one target writes. Every target renders the same model
 * (`buildModel`), plus `podtrust.yaml`, the equivalent podtrust config.
 */
import { renderCloudFormation } from './cloudformation.ts'
import { renderManifests } from './manifests.ts'
import { buildModel, type IacModel } from './model.ts'
import { renderPodtrustConfig } from './podtrust-config.ts'
import type { IacSpec } from './spec.ts'
import { renderTerraform, type GeneratedFile } from './terraform.ts'

export const GENERATE_TARGETS = ['terraform', 'cloudformation', 'manifests'] as const
export type GenerateTarget = (typeof GENERATE_TARGETS)[number]

export function generateFromModel(target: GenerateTarget, model: IacModel): GeneratedFile[] {
  switch (target) {
    case 'terraform':
      return [...renderTerraform(model), renderPodtrustConfig(model)]
    case 'cloudformation':
      return [...renderCloudFormation(model), renderPodtrustConfig(model)]
    case 'manifests':
      return renderManifests(model)
  }
}

export function generate(target: GenerateTarget, spec: IacSpec): GeneratedFile[] {
  return generateFromModel(target, buildModel(spec))
}

export type { GeneratedFile } from './terraform.ts'
export { buildModel } from './model.ts'
export { parseSpec, readSpec } from './spec.ts'
