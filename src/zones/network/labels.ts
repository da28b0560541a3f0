/** Human labels of the exact classifier's node paths, for zones.json and zones.md. */
import type { ModelSpec, NetLayer } from '../../models/index.ts';

/** 'maxpool after conv1' for the exact classifier's path 'layers.2' ('layers.5.body.2', …). */
export function nodeLabel(spec: ModelSpec, exactPath: string): string {
  const at = layerAt(spec, exactPath);
  if (!at) return exactPath;
  const { list, i, scopeName } = at;
  const layer = list[i];
  const kind = layer.kind === 'maxpool' ? `maxpool ${layer.kernel.join('×')}` : layer.kind;
  for (let j = i - 1; j >= 0; j--) {
    const l = list[j];
    if ('name' in l) return `${kind} after ${l.name}`;
    if (l.kind === 'residual') {
      const names = layerNames([l]);
      const prefix = names.length ? names[0].split('.').slice(0, -1).join('.') : '';
      return `${kind} after block ${prefix || j}`;
    }
  }
  return scopeName ? `${kind} (${scopeName})` : kind;
}

/** The layer list holding the node at `exactPath`, its index there, and the residual scopes it is in; null when the path is not a layer. */
function layerAt(spec: ModelSpec, exactPath: string): { list: readonly NetLayer[]; i: number; scopeName: string } | null {
  const parts = exactPath.split('.');
  let list: readonly NetLayer[] = spec.layers;
  let scopeName = '';
  let layer: NetLayer | undefined;
  let i = -1;
  for (let k = 1; k < parts.length; k++) {
    const seg = parts[k];
    if (seg === 'body' || seg === 'shortcut') {
      const r = layer;
      if (r?.kind !== 'residual') return null;
      list = seg === 'body' ? r.body : r.shortcut;
      scopeName = `${scopeName ? `${scopeName} ` : ''}block ${seg}`;
      continue;
    }
    i = Number(seg);
    layer = list[i];
    if (!layer) return null;
  }
  return layer ? { list, i, scopeName } : null;
}

/** Names of the named layers (conv, linear, batch norm) in order, through residual blocks. */
function layerNames(ls: readonly NetLayer[]): string[] {
  const names: string[] = [];
  for (const m of ls) {
    if (m.kind === 'residual') names.push(...layerNames(m.body), ...layerNames(m.shortcut));
    else if ('name' in m) names.push(m.name);
  }
  return names;
}
