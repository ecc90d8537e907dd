// Translations: po/templates/rpinet.pot holds every string the app shows through _() / N_()
// and its menu and ACL titles, and no _() call hides its text from the scan.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { scan, pot, POT } = require('./i18n');

test('every _() and N_() has one plain string literal', () => {
  assert.deepEqual(scan().bad, []);
});

test('po/templates/rpinet.pot is complete and current (regenerate: node tests/i18n.js --write)', () => {
  assert.equal(fs.readFileSync(POT, 'utf8'), pot());
});

test('the template covers the views, the status widget, the menu and plurals', () => {
  const { entries } = scan();
  for (const id of ['Raspberry Pi cluster', 'Overview', 'Could not add the node: %s', 'Grant access to the Raspberry Pi netboot server (rpinet)'])
    assert.ok(entries.has(id), id);
  assert.equal(entries.get('%d node').plural, '%d nodes');
  assert.ok(entries.size > 200, `${entries.size} strings`);
});
