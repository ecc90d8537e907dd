// ESLint for luci-app-rpinet. Run from luci-app-rpinet/: eslint -c tests/eslint.config.js htdocs tests
'use strict';

const js = require('@eslint/js');
const globals = require('globals');

const rules = {
  'no-unused-vars': ['error', { args: 'none' }],
  'eqeqeq': 'off',            // LuCI style compares with == throughout
  'no-var': 'off',            // LuCI modules are ES5 function bodies
  'semi': ['error', 'always'],
  'no-trailing-spaces': 'error',
};

module.exports = [
  { ignores: ['**/node_modules/**'] },
  js.configs.recommended,
  {
    // LuCI modules: the body of function(window, document, L, deps...) — a top-level return
    files: ['htdocs/**/*.js', 'tests/standin/*.js'],
    languageOptions: {
      ecmaVersion: 2017,
      sourceType: 'script',
      parserOptions: { ecmaFeatures: { globalReturn: true } },
      globals: {
        ...globals.browser,
        L: 'readonly', E: 'readonly', _: 'readonly', N_: 'readonly',
        baseclass: 'readonly', view: 'readonly', dom: 'readonly', poll: 'readonly', rpc: 'readonly',
        uci: 'readonly', ui: 'readonly', form: 'readonly', request: 'readonly', logic: 'readonly', access: 'readonly', widgets: 'readonly',
        actions: 'readonly', crypt: 'readonly',
      },
    },
    rules,
  },
  {
    files: ['tests/standin/luci.js'],
    languageOptions: { parserOptions: { ecmaFeatures: { globalReturn: false } } },
  },
  {
    files: ['tests/*.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'commonjs', globals: { ...globals.node } },
    rules: { ...rules, indent: ['error', 2, { SwitchCase: 1 }] },
  },
];
