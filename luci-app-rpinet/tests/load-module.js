// Loads a LuCI JavaScript module in node the way LuCI's L.require does: read the file, take
// the 'require x [as y]' directives at its top, and call the source as the body of
// function(window, document, L, <deps...>); the class it returns is instantiated once.
// Only `baseclass` can be required here: the pure modules need nothing else.
'use strict';

const fs = require('node:fs');

// A minimal class helper with LuCI's baseclass.extend() shape (stand-in, not LuCI's code).
function extend(props) {
  const Parent = this;
  function Cls() {}
  Cls.prototype = Object.create(Parent.prototype || Object.prototype);
  for (const k of Object.keys(props)) Cls.prototype[k] = props[k];
  Cls.extend = extend;
  return Cls;
}
const baseclass = { extend, prototype: {} };

function loadModule(file) {
  const source = fs.readFileSync(file, 'utf8');
  const deps = [];
  const names = [];
  for (const m of source.matchAll(/^\s*'(require\s+(\S+)(?:\s+as\s+(\S+))?|use strict)';\s*$/gm)) {
    if (!m[2]) continue;
    if (m[2] !== 'baseclass') throw new Error(`${file}: cannot load dependency ${m[2]} in node`);
    deps.push(baseclass);
    names.push(m[3] || m[2].replace(/[^a-zA-Z0-9_]/g, '_'));
  }
  // _() and N_() are LuCI's global translation functions; untranslated they return the
  // singular or plural text as given.
  const factory = new Function('window', 'document', 'L', '_', 'N_', ...names, source);
  const Cls = factory({}, {}, {}, (s) => s, (n, s, p) => (n == 1 ? s : p), ...deps);
  return new Cls();
}

module.exports = { loadModule };
