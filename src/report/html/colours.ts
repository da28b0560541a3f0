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

/** '#RRGGBB' (or '#RRGGBBAA') as 0–255 channels and an alpha in [0, 1]. */
function rgba(hex: string): [number, number, number, number] {
  const h = hex.replace('#', '');
  const full = h.length === 3 ? [...h].map((c) => c + c).join('') : h;
  const ch = (i: number) => Number.parseInt(full.slice(i, i + 2), 16);
  return [ch(0), ch(2), ch(4), full.length >= 8 ? ch(6) / 255 : 1];
}

/** WCAG relative luminance of an opaque colour. */
function luminance([r, g, b]: readonly number[]): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** A translucent colour drawn over white, as the page shows it. */
export function overWhite(hex: string): [number, number, number] {
  const [r, g, b, a] = rgba(hex);
  return [r * a + 255 * (1 - a), g * a + 255 * (1 - a), b * a + 255 * (1 - a)];
}

/** WCAG contrast ratio of two opaque colours (1 to 21). */
export function contrast(a: readonly number[], b: readonly number[]): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

/** Black or white text, whichever reads better on `bg` (over white): always ≥ 4.5:1, the WCAG AA level. */
export function textOn(bg: string): '#000000' | '#ffffff' {
  const c = overWhite(bg);
  return contrast(c, [0, 0, 0]) >= contrast(c, [255, 255, 255]) ? '#000000' : '#ffffff';
}
