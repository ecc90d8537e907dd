// The translation template of luci-app-rpinet, as LuCI's build/i18n-scan.pl would collect it:
// every _('...') and N_(n, '...', '...') string of the JavaScript under htdocs/, and the
// titles and descriptions of the menu.d and acl.d files. luci.mk turns po/<lang>/rpinet.po
// files made from po/templates/rpinet.pot into luci-i18n-rpinet-<lang> packages.
//
//   node tests/i18n.js          print the template
//   node tests/i18n.js --write  write po/templates/rpinet.pot
//
// A _() whose argument is not one plain string literal cannot be translated; scan() reports
// each such call so that the check in i18n.test.js fails on it.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const APP = path.join(__dirname, '..');
const POT = path.join(APP, 'po', 'templates', 'rpinet.pot');
const LIT = String.raw`'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"`;

function jsFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? jsFiles(p) : e.name.endsWith('.js') ? [p] : [];
  }).sort();
}

const unquote = (lit) => new Function(`return ${lit};`)();

// { entries: Map(msgid -> { plural, files:Set }), bad: [ 'file: text' ] }
function scan() {
  const entries = new Map();
  const bad = [];
  const add = (msgid, plural, file) => {
    const e = entries.get(msgid) || { plural: null, files: new Set() };
    if (plural) e.plural = plural;
    e.files.add(path.relative(APP, file));
    entries.set(msgid, e);
  };
  for (const file of jsFiles(path.join(APP, 'htdocs'))) {
    const src = fs.readFileSync(file, 'utf8');
    for (const m of src.matchAll(/(?<![\w.$])(N?_)\(/g)) {
      const rest = src.slice(m.index + m[0].length);
      if (rest.startsWith(')')) continue; // "_()" in a comment
      const re = m[1] === '_' ? new RegExp(`^\\s*(${LIT})\\s*[,)]`) : new RegExp(`^[^,]+,\\s*(${LIT})\\s*,\\s*(${LIT})\\s*\\)`);
      const lit = re.exec(rest);
      if (!lit) {
        bad.push(`${path.relative(APP, file)}: ${m[0]}${rest.split('\n')[0].slice(0, 60)}`);
        continue;
      }
      add(unquote(lit[1]), lit[2] ? unquote(lit[2]) : null, file);
    }
  }
  for (const file of [path.join(APP, 'root/usr/share/luci/menu.d/luci-app-rpinet.json'), path.join(APP, 'root/usr/share/rpcd/acl.d/luci-app-rpinet.json')]) {
    for (const v of Object.values(JSON.parse(fs.readFileSync(file, 'utf8')))) {
      if (v.title) add(v.title, null, file);
      if (v.description) add(v.description, null, file);
    }
  }
  return { entries, bad };
}

const po = (s) => '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') + '"';

function pot() {
  const { entries } = scan();
  const out = ['msgid ""', 'msgstr "Content-Type: text/plain; charset=UTF-8"', ''];
  for (const id of [...entries.keys()].sort()) {
    const e = entries.get(id);
    out.push(...[...e.files].sort().map((f) => `#: ${f}`));
    out.push(`msgid ${po(id)}`);
    if (e.plural) out.push(`msgid_plural ${po(e.plural)}`, 'msgstr[0] ""', 'msgstr[1] ""');
    else out.push('msgstr ""');
    out.push('');
  }
  return out.join('\n');
}

module.exports = { scan, pot, POT };

if (require.main === module) {
  if (process.argv.includes('--write')) fs.writeFileSync(POT, pot());
  else process.stdout.write(pot());
}
