// The package files agree with the views: every ubus call a view declares is granted by
// the acl.d file, read and write are split (a read-only login changes nothing), and every menu.d view exists.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const APP = path.join(__dirname, '..');
const VIEWS = path.join(APP, 'htdocs', 'luci-static', 'resources', 'view');
const acl = JSON.parse(fs.readFileSync(path.join(APP, 'root/usr/share/rpcd/acl.d/luci-app-rpinet.json'), 'utf8'));
const menu = JSON.parse(fs.readFileSync(path.join(APP, 'root/usr/share/luci/menu.d/luci-app-rpinet.json'), 'utf8'));

const INCLUDE = path.join(VIEWS, 'status', 'include', '70_rpinet.js');

const MODULES = path.join(VIEWS, '..', 'rpinet');

// the five pages and the status-page widget
function viewFiles() {
  return fs.readdirSync(path.join(VIEWS, 'rpinet')).map((f) => path.join(VIEWS, 'rpinet', f)).concat([INCLUDE]);
}

// the pages, the widget and the shared modules (logic, access, widgets)
function sourceFiles() {
  return viewFiles().concat(fs.readdirSync(MODULES).map((f) => path.join(MODULES, f)));
}

function declaredCalls() {
  const out = [];
  for (const file of sourceFiles()) {
    const f = path.relative(VIEWS, file);
    const src = fs.readFileSync(file, 'utf8');
    for (const m of src.matchAll(/rpc\.declare\(\{\s*object:\s*'([^']+)',\s*method:\s*'([^']+)'/g))
      out.push({ view: f, object: m[1], method: m[2] });
  }
  return out;
}

test('the ACL splits read and write: reading changes nothing', () => {
  const g = acl['luci-app-rpinet'];
  // the OS list, the Ansible inventory and what an NFS server must export are read; a roll and a rollback write
  assert.deepEqual(g.read.ubus.rpinet, ['status', 'images', 'discovered', 'job', 'doctor', 'image_catalog', 'inventory', 'storage_exports']);
  assert.deepEqual(g.read.ubus.block, ['info']);
  assert.ok(g.read.uci.includes('rpinet'));
  for (const m of ['node_add', 'node_remove', 'image_import', 'node_provision', 'image_roll', 'node_rollback'])
    assert.ok(g.write.ubus.rpinet.includes(m), m);
  assert.deepEqual(g.write.uci, ['rpinet']);
  // nothing that changes state is in read
  for (const m of g.read.ubus.rpinet) assert.ok(!g.write.ubus.rpinet.includes(m), m);
});

test('every ubus call a view declares is granted', () => {
  const g = acl['luci-app-rpinet'];
  const calls = declaredCalls();
  assert.ok(calls.length >= 10, `found ${calls.length} rpc.declare calls`);
  // rpcd answers session.access for every session; the rest must be in the app's group
  for (const c of calls.filter((x) => x.object !== 'session')) {
    const granted = [g.read, g.write].some((p) => (p.ubus[c.object] || []).includes(c.method));
    assert.ok(granted, `${c.view}: ${c.object}.${c.method} is not in the ACL`);
  }
});

test('menu.d: a firstchild entry guarded by the ACL group and five views that exist', () => {
  const top = menu['admin/services/rpinet'];
  assert.equal(top.action.type, 'firstchild');
  assert.deepEqual(top.depends.acl, ['luci-app-rpinet']);
  assert.deepEqual(top.depends.uci, { rpinet: true });
  const views = Object.values(menu).filter((e) => e.action.type === 'view').map((e) => e.action.path);
  assert.deepEqual(views, ['rpinet/overview', 'rpinet/nodes', 'rpinet/images', 'rpinet/settings', 'rpinet/diagnostics']);
  for (const v of views) assert.ok(fs.existsSync(path.join(VIEWS, v + '.js')), v);
});

test('the views are LuCI modules: use strict, require directives, return view.extend', () => {
  for (const f of fs.readdirSync(path.join(VIEWS, 'rpinet'))) {
    const src = fs.readFileSync(path.join(VIEWS, 'rpinet', f), 'utf8');
    assert.match(src, /^'use strict';\n'require view';\n/, f);
    assert.match(src, /\nreturn view\.extend\(\{/, f);
    assert.doesNotMatch(src, /^\s*import\s|\brequire\(/m, f);
  }
});

test('the status-page widget is a LuCI status include: a baseclass with title, load and render', () => {
  const src = fs.readFileSync(INCLUDE, 'utf8');
  assert.match(src, /^'use strict';\n'require baseclass';\n/);
  assert.match(src, /\nreturn baseclass\.extend\(\{\n\ttitle: _\(/);
  assert.match(src, /\n\tload\(\) \{/);
  assert.match(src, /\n\trender\(status\) \{/);
});

test('current LuCI code style: const/let and arrow functions, no var, no L.bind', () => {
  for (const file of sourceFiles()) {
    const src = fs.readFileSync(file, 'utf8');
    assert.doesNotMatch(src, /^\s*var\s/m, file);
    assert.doesNotMatch(src, /L\.bind\(/, file);
  }
});

test('the Makefile follows luci.mk', () => {
  const mk = fs.readFileSync(path.join(APP, 'Makefile'), 'utf8');
  assert.match(mk, /^include \$\(TOPDIR\)\/rules\.mk$/m);
  assert.match(mk, /^LUCI_DEPENDS:=\+luci-base \+rpinet$/m);
  assert.match(mk, /^LUCI_PKGARCH:=all$/m);
  // inside the LuCI feed ../../luci.mk; with this repository as a feed, the installed one
  assert.match(mk, /^include \$\(firstword \$\(wildcard \.\.\/\.\.\/luci\.mk\) \$\(TOPDIR\)\/feeds\/luci\/luci\.mk\)$/m);
});
