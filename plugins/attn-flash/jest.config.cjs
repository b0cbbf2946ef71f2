module.exports = { ...require('../../jest.preset.cjs'), globalSetup: `${__dirname}/scripts/jest-global-setup.mjs` };
