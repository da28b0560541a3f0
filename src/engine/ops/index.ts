export { conv2d, type Conv2dOptions } from './conv2d.ts';
export { linear } from './linear.ts';
export { maxpool2d, type MaxPool2dOptions } from './maxpool2d.ts';
export { relu } from './relu.ts';
export { reshape } from './reshape.ts';
