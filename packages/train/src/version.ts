/** This package's version, recorded in checkpoints. A test keeps it equal to package.json's. */
export const TRAIN_VERSION = '0.1.0';
