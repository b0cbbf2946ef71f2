// Loaded before every test file: tsyringe needs the Reflect metadata polyfill once.
require('reflect-metadata');
