/**
 * One colour per zone everywhere in the report (Okabe–Ito palette, readable with the common forms
 * of colour blindness), and one per precision in the training plots.
 */
import type { Zone, ZoneClass } from '../../problem/index.ts';
import type { Series } from './svg.ts';

export const ZONE_COLOUR = {
  regular: '#BBBBBB',
  harmless: '#009E73',
  bifurcation: '#D55E00',
  'compensation:tie': '#E69F00',
  'compensation:flip': '#CC79A7',
  compensation: '#E69F00',
  defect: '#000000',
  nonfinite: '#56B4E9',
} as const satisfies Record<ZoneClass | Zone | 'harmless', string>;

export const ZONE_LABEL: Record<keyof typeof ZONE_COLOUR, string> = {
  regular: 'regular',
  harmless: 'harmless tie',
  bifurcation: 'bifurcation',
  'compensation:tie': 'compensation (tie)',
  'compensation:flip': 'compensation (flip)',
  compensation: 'compensation',
  defect: 'defect',
  nonfinite: 'nonfinite',
};

export function zoneSeries(keys: readonly (keyof typeof ZONE_COLOUR)[]): Series[] {
  return keys.map((k) => ({ key: k, label: ZONE_LABEL[k], colour: ZONE_COLOUR[k] }));
}

const PRECISION_COLOUR: Record<string, string> = {
  '16': '#D55E00',
  bfloat16: '#E69F00',
  '32': '#0072B2',
  '64': '#009E73',
  e4m3: '#CC79A7',
  e5m2: '#56B4E9',
};
const OTHER = ['#CC79A7', '#56B4E9', '#E69F00', '#000000', '#F0E442'];

export function precisionColour(p: string): string {
  return PRECISION_COLOUR[p] ?? OTHER[[...p].reduce((a, c) => a + c.charCodeAt(0), 0) % OTHER.length];
}

/** A categorical palette for series without a meaning of their own (runs, bench groups). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#999933', '#882255', '#44AA99'];
