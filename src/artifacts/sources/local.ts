import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../../util/errors.ts';
import type { Component } from '../manifest.ts';

/**
 * Binaries the user already has, in one folder (--bin-dir). A component pinned at two versions
 * (Kubernetes) looks first in a subfolder named after it, e.g. DIR/kubernetes-v1.35.8/.
 * Their versions are checked after landing.
 */
export function fromLocalFolder(component: Component, folder: string): Map<string, string> {
  const own = join(folder, `${component.name}-${component.version}`);
  const dir = existsSync(own) ? own : folder;
  const files = new Map<string, string>();
  const missing = component.binaries.filter((binary) => !existsSync(join(dir, binary)));
  if (missing.length > 0) throw new LabError(`${dir} lacks ${missing.join(', ')}`, `put ${component.name} ${component.version} binaries there`);
  for (const binary of component.binaries) files.set(binary, join(dir, binary));
  return files;
}
