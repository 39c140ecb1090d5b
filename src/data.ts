/** `rampart/data`: data loaders, splits and batches (images and text). */
export * from './data/index.js';
export * from './data/text/index.js';
