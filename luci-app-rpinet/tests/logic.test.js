// The pure logic of luci-app-rpinet (htdocs/.../rpinet/logic.js), loaded as LuCI loads it.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { loadModule } = require('./load-module');

const logic = loadModule(path.join(__dirname, '..', 'htdocs', 'luci-static', 'resources', 'rpinet', 'logic.js'));
const fixture = (name) => require(path.join(__dirname, 'fixtures', name));
const NOW = 1700000200;

test('node names follow docs/SPEC.md §1: [a-z0-9_]{1,32}', () => {
  for (const ok of ['a', 'running_lion', 'pi_91cdf03d', '0', 'x'.repeat(32)])
    assert.equal(logic.validateName(ok), true, ok);
  for (const bad of ['', 'Running', 'running-lion', 'a b', 'x'.repeat(33), 'ä', 'a.b', ' a'])
    assert.equal(typeof logic.validateName(bad), 'string', JSON.stringify(bad));
  assert.match(logic.validateName(''), /required/);
  assert.match(logic.validateName('x'.repeat(33)), /32/);
});

test('serials are 8 hex digits in either case', () => {
  for (const ok of ['38c128c0', '38C128C0', '00000000', 'DeadBeef'])
    assert.equal(logic.validateSerial(ok), true, ok);
  for (const bad of ['', '38c128c', '38c128c00', '38c128cg', '0x38c128', '1000000038c128c0', ' 38c128c0'])
    assert.equal(typeof logic.validateSerial(bad), 'string', bad);
  assert.equal(logic.normalizeSerial('38C128C0'), '38c128c0');
});

test('MACs are six hex pairs with colons, either case', () => {
  for (const ok of ['dc:a6:32:79:26:df', 'DC:A6:32:79:26:DF', 'Dc:a6:32:79:26:dF'])
    assert.equal(logic.validateMac(ok), true, ok);
  for (const bad of ['', 'dc-a6-32-79-26-df', 'dca6327926df', 'dc:a6:32:79:26', 'dc:a6:32:79:26:df:00', 'dc:a6:32:79:26:dg', 'dc:a6:32:79:2:df'])
    assert.equal(typeof logic.validateMac(bad), 'string', bad);
  assert.equal(logic.normalizeMac('DC:A6:32:79:26:DF'), 'dc:a6:32:79:26:df');
});

test('model, boot_id and boot_dir', () => {
  for (const m of ['pi3', 'pi4', 'pi5']) assert.equal(logic.validateModel(m), true);
  for (const m of ['', 'pi2', 'Pi4', 'cm4', 'pi400']) assert.equal(typeof logic.validateModel(m), 'string', m);
  for (const b of ['serial', 'mac', 'custom']) assert.equal(logic.validateBootId(b), true);
  for (const b of ['', 'Serial', 'uuid']) assert.equal(typeof logic.validateBootId(b), 'string', b);
  // boot_dir is only checked (and required) when boot_id is custom
  assert.equal(logic.validateBootDir('serial', ''), true);
  assert.equal(logic.validateBootDir('serial', '../../etc'), true);
  assert.match(logic.validateBootDir('custom', ''), /needs a name/);
  for (const ok of ['spare', 'rack1.node-2', 'a'.repeat(31)])
    assert.equal(logic.validateBootDir('custom', ok), true, ok);
  for (const bad of ['..', '.hidden', '-x', 'a/b', 'a b', 'a'.repeat(32)])
    assert.equal(typeof logic.validateBootDir('custom', bad), 'string', bad);
});

test('IPv4 addresses; empty only where optional', () => {
  for (const ok of ['192.168.1.57', '0.0.0.0', '255.255.255.255', '10.0.0.1'])
    assert.equal(logic.validateIPv4(ok), true, ok);
  for (const bad of ['', '256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', 'a.b.c.d', '1.2.3.4 ', '::1'])
    assert.equal(typeof logic.validateIPv4(bad), 'string', bad);
  assert.equal(logic.validateIPv4('', true), true);
  assert.equal(typeof logic.validateIPv4('x', true), 'string');
});

test('validateNode names every bad option, and none for a good node', () => {
  assert.deepEqual(logic.validateNode({ name: 'running_lion', serial: '38C128C0', mac: 'DC:A6:32:79:26:DF', model: 'pi4', boot_id: 'serial' }), []);
  const bad = logic.validateNode({ name: 'Bad-Name', serial: 'xyz', mac: 'dc-a6', model: 'pi9', boot_id: 'custom', boot_dir: '', ip: '300.1.1.1' });
  assert.deepEqual(bad.map((b) => b.option), ['name', 'serial', 'mac', 'model', 'boot_dir', 'ip']);
  // defaults per docs/SPEC.md §1 when absent: model pi4, boot_id serial
  assert.deepEqual(logic.validateNode({ name: 'a', serial: '00000000', mac: '00:00:00:00:00:00' }), []);
});

test('boot directory and hostname follow docs/SPEC.md §1/§2', () => {
  assert.equal(logic.bootDir({ boot_id: 'serial', serial: '38C128C0' }), '38c128c0');
  assert.equal(logic.bootDir({ serial: '38c128c0' }), '38c128c0');
  assert.equal(logic.bootDir({ boot_id: 'mac', mac: 'DC:A6:32:79:26:DF' }), 'dc-a6-32-79-26-df');
  assert.equal(logic.bootDir({ boot_id: 'custom', boot_dir: 'spare' }), 'spare');
  assert.equal(logic.hostname('running_lion'), 'running-lion');
});

test('the timeline marks stages done up to the one reached and the next one failed on error', () => {
  const status = fixture('status.json');
  const lion = logic.timeline(status.nodes[0].boot);
  assert.deepEqual(lion.map((s) => s.stage), ['dhcp', 'firmware', 'kernel', 'nfs', 'up', 'running']);
  assert.deepEqual(lion.map((s) => s.state), ['done', 'done', 'done', 'failed', 'pending', 'pending']);
  assert.deepEqual(lion.map((s) => s.title), ['DHCP', 'Firmware', 'Kernel', 'NFS root', 'Up', 'Running']);
  assert.equal(lion[0].detail, 'offered 192.168.1.57');
  assert.equal(lion[0].time, '2023-11-14 22:13:20 UTC');
  assert.equal(lion[3].detail, 'cmdline.txt not found in 38c128c0/');

  const otter = logic.timeline(status.nodes[1].boot);
  // the node reported a healthy boot: every step done
  assert.deepEqual(otter.map((s) => s.state), Array(6).fill('done'));
  // up, and not reported yet: running is still to come
  assert.deepEqual(logic.timeline({ stage: 'up' }).map((s) => s.state), ['done', 'done', 'done', 'done', 'done', 'pending']);

  const fox = logic.timeline(status.nodes[2].boot);
  assert.deepEqual(fox.map((s) => s.state), ['done', 'pending', 'pending', 'pending', 'pending', 'pending']);

  assert.deepEqual(logic.timeline({ stage: 'none', stages: [] }).map((s) => s.state), Array(6).fill('pending'));
  assert.deepEqual(logic.timeline(undefined).map((s) => s.state), Array(6).fill('pending'));
  // failed before DHCP completed: the first stage is the failed one
  assert.deepEqual(logic.timeline({ stage: 'none', error: 'no DHCP offer' }).map((s) => s.state),
    ['failed', 'pending', 'pending', 'pending', 'pending', 'pending']);
  // the node's own report: running is the last step done; degraded and emergency fail it
  assert.deepEqual(logic.timeline({ stage: 'running' }).map((s) => s.state), Array(6).fill('done'));
  const degraded = logic.timeline({ stage: 'degraded', problems: ['systemd says degraded', 'failed: resize2fs_once.service'] });
  assert.deepEqual(degraded.map((s) => s.state), ['done', 'done', 'done', 'done', 'done', 'failed']);
  assert.equal(degraded[5].detail, 'systemd says degraded; failed: resize2fs_once.service');
  assert.deepEqual(logic.bootState({ boot: { stage: 'degraded' } }), { state: 'degraded', look: 'problem', text: 'Degraded' });
  assert.deepEqual(logic.bootState({ boot: { stage: 'emergency' } }), { state: 'failed', look: 'problem', text: 'Emergency mode' });
  assert.deepEqual(logic.bootState({ boot: { stage: 'running' } }), { state: 'running', look: 'ok', text: 'Running' });
  assert.deepEqual(logic.bootState({ boot: { stage: 'up' } }), { state: 'up', look: 'ok', text: 'Up' });
});

test('node rows carry state, stage and why it stopped, image, address, time to running, kept root', () => {
  const [lion, otter, fox, hare, spare] = fixture('status.json').nodes.map((n) => logic.nodeRow(n, NOW));
  assert.deepEqual([lion.state, lion.look, lion.stateText, lion.stageTitle], ['failed', 'problem', 'Boot failed', 'Kernel']);
  assert.equal(lion.reason, 'cmdline.txt not found in 38c128c0/');
  assert.equal(lion.lastBoot, '3 min ago');
  assert.equal(lion.address, '192.168.1.57');
  assert.equal(lion.hostname, 'running-lion');
  assert.deepEqual(lion.kept, { image: 'trixie-lite' });
  assert.deepEqual([otter.state, otter.stateText, otter.reason, otter.reserved], ['running', 'Running', '', '192.168.1.71']);
  // boot.report.times.multi_user_ms: kernel start to multi-user
  assert.deepEqual([otter.timeMs, otter.timeText], [46000, '46.0 s']);
  assert.equal(otter.kept, null);
  assert.deepEqual([fox.state, fox.stateText, fox.image, fox.timeText], ['booting', 'Booting: DHCP', '', '']);
  assert.deepEqual([spare.state, spare.look, spare.lastBoot], ['disabled', 'pending', 'never']);
  // a stalled boot (boot.stalled + boot.hint) is a problem with its hint as the reason
  assert.deepEqual([hare.state, hare.stateText], ['stalled', 'Stalled: Kernel']);
  assert.match(hare.reason, /never mounted: check the nfsroot= line/);
  // a boot that ended badly says rpinet's reasons; a node without the field keeps no root
  const degraded = logic.nodeRow({ name: 'd', boot: { stage: 'degraded', problems: ['systemd says degraded', 'failed: x.service'] } }, NOW);
  assert.deepEqual([degraded.state, degraded.reason, degraded.kept], ['degraded', 'systemd says degraded; failed: x.service', null]);
  assert.equal(logic.formatSeconds(125.4), '2 min 05 s');
  assert.equal(logic.volumeText({ size: 1073741824, used: null, mount: '/var/lib/rpinet-volume' }), '1.0 GiB at /var/lib/rpinet-volume');
  assert.equal(logic.volumeText(null), '');
});

test('the node table filters by state, image and text, sorts any column (empty last), pages', () => {
  const rows = fixture('status.json').nodes.map((n) => logic.nodeRow(n, NOW));
  const names = (v) => v.rows.map((r) => r.name);
  assert.deepEqual(names(logic.tableView(rows, {})), ['brave_fox', 'quiet_otter', 'running_lion', 'slow_hare', 'spare_pi']);
  assert.deepEqual(names(logic.tableView(rows, { sort: 'state' })), ['running_lion', 'slow_hare', 'brave_fox', 'quiet_otter', 'spare_pi']);
  assert.deepEqual(names(logic.tableView(rows, { sort: 'time', desc: true })), ['quiet_otter', 'brave_fox', 'running_lion', 'slow_hare', 'spare_pi']);
  assert.deepEqual(names(logic.tableView(rows, { sort: 'address' })), ['running_lion', 'brave_fox', 'quiet_otter', 'slow_hare', 'spare_pi']);
  assert.deepEqual(names(logic.tableView(rows, { state: 'failed' })), ['running_lion']);
  assert.deepEqual(names(logic.tableView(rows, { image: '-' })), ['brave_fox', 'spare_pi']);
  assert.deepEqual(names(logic.tableView(rows, { image: 'bookworm-lite', text: 'DC:A6' })), ['running_lion', 'slow_hare']);
  const page = logic.tableView(rows, { size: 2, page: 2 });
  assert.deepEqual([names(page), page.page, page.pages, page.from, page.to, page.matched], [['spare_pi'], 2, 3, 5, 5, 5]);
  // a page past the end shows the last one
  assert.equal(logic.tableView(rows, { size: 2, page: 9 }).page, 2);
  // names with numbers sort as people count
  assert.deepEqual(names(logic.tableView(['pi_10', 'pi_9', 'pi_100'].map((n) => ({ name: n, image: '' })), {})), ['pi_9', 'pi_10', 'pi_100']);
  assert.deepEqual(logic.stateChoices(rows), { '': 'Every state', running: '1 running', booting: '1 booting', failed: '1 failed', stalled: '1 stalled', disabled: '1 disabled' });
  assert.deepEqual(logic.imageChoices(rows), { '': 'Every image', 'bookworm-lite': 'bookworm-lite (3)', '-': 'Not provisioned (2)' });
});

test('the Nodes grid filters its config sections as Overview filters status: state from status, the rest from the section', () => {
  const sections = Object.values(fixture('uci-rpinet.json')).filter((s) => s['.type'] == 'node');
  const byName = {};
  for (const n of fixture('status.json').nodes) byName[n.name] = n;
  // a section status does not know yet (added since), and one edited since the last status
  sections.push({ '.name': 'new_pi', '.type': 'node', serial: '0a0b0c0d', mac: 'dc:a6:32:0a:0b:0c', model: 'pi4' });
  const lion = sections.find((s) => s['.name'] == 'running_lion');
  Object.assign(lion, { mac: 'dc:a6:32:99:99:99', enabled: '0' });
  const rows = logic.configRows(sections, byName, NOW);
  const names = (q) => logic.tableView(rows, q).rows.map((r) => r.name);
  assert.deepEqual(names({}), ['brave_fox', 'new_pi', 'quiet_otter', 'running_lion', 'slow_hare', 'spare_pi']);
  assert.deepEqual(rows.find((r) => r.name == 'new_pi').state, 'none');
  assert.deepEqual(names({ state: 'disabled' }), ['running_lion', 'spare_pi']);
  assert.deepEqual(names({ text: '99:99' }), ['running_lion']);
  assert.deepEqual(names({ text: 'dc:a6:32:79' }), []);
  assert.deepEqual(names({ text: 'new-pi' }), ['new_pi']);
  assert.deepEqual(names({ image: '-' }), ['brave_fox', 'new_pi', 'spare_pi']);
  // its last boot and kept root still come from status
  assert.equal(rows.find((r) => r.name == 'quiet_otter').address, '192.168.1.71');
  assert.deepEqual(rows.find((r) => r.name == 'running_lion').kept, { image: 'trixie-lite' });
  assert.deepEqual(logic.configRows(null, null, NOW), []);
});

test('summary from the status reply, each node once; counted from the nodes when the backend has none', () => {
  const st = fixture('status.json');
  const want = { total: 5, running: 1, up: 0, degraded: 0, booting: 1, failed: 1, stalled: 1, none: 1 };
  assert.deepEqual(logic.summary(st), want);
  assert.deepEqual(logic.summary({ nodes: st.nodes }), want);
  // docs/api.md: `up` counts the running nodes again
  const given = { total: 1000, up: 989, running: 980, degraded: 1, booting: 4, failed: 3, stalled: 2, none: 1 };
  assert.deepEqual(logic.summary({ summary: given, nodes: [] }), Object.assign({}, given, { up: 9 }));
  assert.deepEqual(logic.summaryParts(logic.summary({ summary: given })).map((p) => p.text),
    ['980 running', '9 up, not reporting', '4 booting', '1 degraded', '3 failed', '2 stalled', '1 not booted']);
});

test('rpinet\'s sentences never send the user to a shell', () => {
  const cmd = /`|\brpinet [a-z]|\buci (set|commit)|\/etc\/init\.d|--[a-z]|'rpinet/;
  assert.equal(logic.plainText('image roll stopped: quiet_otter did not come up on lab-next: cmdline.txt not found in 2c-cf-67-0a-11-2b/; its previous root is kept (rpinet node rollback quiet_otter)'),
    'image roll stopped: quiet_otter did not come up on lab-next: cmdline.txt not found in 2c-cf-67-0a-11-2b/; its previous root is kept, so Roll back can put the node back on it');
  assert.equal(logic.plainText('the catalog could not be fetched from http://127.0.0.1:9/os_list.json: `rpinet image catalog` says why'),
    'the catalog could not be fetched from http://127.0.0.1:9/os_list.json');
  assert.equal(logic.plainText('nfsd is not running: /etc/init.d/nfsd start'), 'nfsd is not running: start it under System → Startup');
  assert.match(logic.plainText("node 'a' has no login user: Raspberry Pi OS makes none by itself; provision again with --user NAME --password-hash HASH, or give it an ssh_key"),
    /provision it again with a user and password, or give it an SSH key/);
  assert.equal(logic.plainText('imported lab (bookworm) to /mnt/rpinet/images/lab: boot 30 files, root 1200 files, 80 dirs, 5 symlinks, 0 special, 2 hard links, 12 MiB from 40 MiB of image (4 MiB read); 16 KiB held for out-of-order blocks; 0 entries skipped'),
    'Imported lab (bookworm): 1230 files, 12.0 MiB unpacked');
  // every sentence the recorded lab replies hold, as the pages show them
  const real = (f) => require(path.join(__dirname, 'fixtures', 'rpinet-call', f));
  const texts = [];
  const walk = (v) => {
    if (typeof v === 'string') texts.push(v);
    else if (v && typeof v === 'object') Object.entries(v).forEach(([k, x]) => { if (['message', 'hint', 'error', 'detail'].includes(k) || typeof x === 'object') walk(x); });
  };
  ['status.json', 'job-image_roll.json', 'job-image_import-url.json', 'job-image_import-badsum.json', 'image_catalog-unreachable.json', 'node_rollback-refused.json'].forEach((f) => walk(real(f)));
  walk(fixture('status.json'));
  assert.ok(texts.length > 20, `${texts.length} sentences`);
  for (const t of texts) assert.doesNotMatch(logic.plainText(t), cmd, t);
  // doctor: every fix is words or a button, never a command
  for (const f of real('doctor.json').findings.concat(fixture('doctor.json').findings))
    assert.doesNotMatch(logic.doctorFix(f).text, cmd, f.code);
});

test('doctor fixes: a button where rpinet can do it, else words', () => {
  const fix = (code, node) => logic.doctorFix({ code, node: node || '' }).action;
  assert.deepEqual(fix('rpinet_conf_not_loaded'), { kind: 'apply' });
  assert.deepEqual(fix('boot_files_missing', 'a'), { kind: 'provision', node: 'a' });
  assert.deepEqual(fix('runtime_without_volume', 'a'), { kind: 'provision', node: 'a' });
  assert.deepEqual(fix('node_degraded', 'a'), { kind: 'details', node: 'a' });
  assert.deepEqual(fix('disabled_node_booting', 'a'), { kind: 'enable_node', node: 'a' });
  assert.deepEqual(fix('export_subnet'), { kind: 'set', option: 'export_subnet', value: '0', label: 'Export to each node only' });
  assert.equal(fix('nfsd_not_running').kind, 'link');
  assert.equal(fix('orphan_dir'), null);
  // storage on an NFS server (docs/SPEC.md §4): the router's side has a button or a LuCI page; the server's side is rpinet's words
  assert.deepEqual(logic.doctorFix({ code: 'storage_absent' }, undefined, { server: true }).action, { kind: 'apply' });
  assert.equal(logic.doctorFix({ code: 'storage_absent' }).action.path, 'admin/services/rpinet/settings');
  assert.equal(fix('storage_wrong_export').path, 'admin/system/mounts');
  assert.equal(fix('nfs_client_missing').path, 'admin/system/package-manager');
  const squash = 'export it with no_root_squash (TrueNAS: Maproot User root; Synology: Squash No mapping)';
  assert.deepEqual(logic.doctorFix({ code: 'server_root_squash', fix: squash }), { text: `On the NFS server: ${squash}. Settings → Storage shows what it must export.`,
    action: { kind: 'link', path: 'admin/services/rpinet/settings', label: 'Settings' } });
  assert.equal(logic.doctorFix({ code: 'server_no_symlinks', fix: 'export a directory of a POSIX filesystem' }).text, 'On the NFS server: export a directory of a POSIX filesystem.');
  // rpinet's own fixes here name commands (opkg, umount, rpinet apply): the page's words do not
  const cmd = /`|\bopkg\b|\bapk add|\bumount\b|\brpinet [a-z]/;
  for (const [code, words] of [['nfs_client_missing', 'install kmod-fs-nfs and kmod-fs-nfs-v3 (opkg install / apk add), then `rpinet apply`'],
    ['storage_wrong_export', 'unmount it (umount /mnt/rpinet), then `rpinet apply` mounts the export'],
    ['storage_absent', 'run `rpinet apply`: it mounts the export, or says in one line why it cannot; `rpinet storage exports` prints what the server must export']])
    assert.doesNotMatch(logic.doctorFix({ code, fix: words }, undefined, { server: true }).text, cmd, code);
  for (const f of fixture('doctor-server.json').findings)
    assert.doesNotMatch(logic.doctorFix(f, undefined, { server: true }).text, cmd, f.code);
  // an unknown finding keeps rpinet's words unless they are a command
  assert.deepEqual(logic.doctorFix({ code: 'new_thing', fix: 'set boot_id to mac' }), { text: 'set boot_id to mac', action: null });
  assert.match(logic.doctorFix({ code: 'new_thing', fix: 'run `rpinet frob`' }).text, /cannot fix it/);
});

test('provisioning: a user and a password go together, typed twice alike; root mode in words', () => {
  const ok = { user: 'pi', password: 'raspberry', password2: 'raspberry', volume_size: '' };
  assert.equal(logic.validateProvision(ok), true);
  assert.equal(logic.validateProvision({}), true);
  assert.match(logic.validateProvision({ user: 'pi' }), /password/);
  assert.match(logic.validateProvision({ password: 'x', password2: 'x' }), /needs a first user/);
  assert.match(logic.validateProvision(Object.assign({}, ok, { password2: 'raspberrY' })), /differ/);
  assert.match(logic.validateProvision(Object.assign({}, ok, { user: 'Pi' })), /user name/);
  assert.match(logic.validateProvision(Object.assign({}, ok, { volume_size: '32' })), /512M/);
  for (const u of ['pi', '_x', 'a-b_c9', 'a'.repeat(32)]) assert.equal(logic.validateUser(u), true, u);
  for (const u of ['9a', 'Pi', 'a b', 'a'.repeat(33), '-a']) assert.equal(typeof logic.validateUser(u), 'string', u);
  assert.match(logic.rootModeText('', 'shared'), /^shared: .*\(the default\)$/);
  assert.match(logic.rootModeText('copy', 'shared'), /^copy: a private full copy/);
  assert.match(logic.rootModeText('', ''), /^shared: .*\(the default\)$/);
  assert.match(logic.rootModeText('', 'copy'), /^copy: .*\(the default\)$/);
  // what status says the root is comes first
  assert.match(logic.rootModeText('', 'copy', 'shared'), /^shared: .*\(the default\)$/);
});

test('EEPROM settings grouped: one entry per distinct setting with its nodes', () => {
  const sections = [{ '.name': 'a' }, { '.name': 'b', model: 'pi5' }, { '.name': 'c', boot_id: 'mac' }, { '.name': 'd', model: 'pi3' }];
  const g = logic.eepromGroups(sections, { dhcp_mode: 'server' });
  assert.deepEqual(g.map((x) => x.nodes), [['a', 'b'], ['c'], ['d']]);
  assert.equal(g[2].applicable, false);
  assert.equal(logic.nameList(['a', 'b', 'c'], 2), 'a, b and 1 more');
});

test('a failed call becomes one sentence without a stack', () => {
  const denied = new Error('RPC call to rpinet/image_import failed with error -32002: Access denied\n  at ClassConstructor.handleCallReply (http://x/rpc.js:82:7)');
  assert.equal(logic.describeError(denied), 'Your login is not allowed to do this; the router\'s administrator can grant it (LuCI access group luci-app-rpinet).');
  assert.match(logic.describeError(new Error('RPC call to block/info failed with error -32000: Object not found')), /no "block" service/);
  assert.match(logic.describeError(new Error('RPC call to rpinet/status failed with error -32000: Object not found')), /rpcd restart/);
  assert.match(logic.describeError(3), /does not offer this yet/);
  assert.equal(logic.describeError({ error: 'no node named x' }), 'no node named x');
  assert.match(logic.describeError(new Error('XHR request aborted by browser')), /did not answer/);
  for (const e of [denied, 3, new Error('x\n  at y (z.js:1:2)')]) assert.doesNotMatch(logic.describeError(e), /\bat \S+ \(|\.js:\d/);
  assert.equal(logic.replyError({ job: 'j' }), null);
  assert.match(logic.replyError(3), /update the rpinet package/);
  assert.equal(logic.replyError({ error: 'bad' }), 'bad');
  assert.deepEqual(logic.checkReply({ job: 'j1' }, 'job'), { job: 'j1' });
  assert.throws(() => logic.checkReply({}, 'job'), /rpinet answered without "job"/);
  assert.throws(() => logic.checkReply({ error: "image_import: unknown argument 'url'" }), /does not take "url" yet: update the rpinet package/);
  assert.throws(() => logic.checkReply(3), /does not offer this yet/);
});

// Public halves of throwaway keys (ssh-keygen); rpinet's config/ssh_key.rs tests use the same kinds.
const ED = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKyEX1c94vp3DjRjwFTDYovAwueRgKlBt991Kgff39ha lion@lab';
const ECDSA = 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBGRosa+9kPRMFC8mYgwiUtsymci2MAhtIiyjJFwyoE+vDyQRSrSCvr6Pj5zusasdgdxxjLIO8WfZ//nmFzRxugY= ops@desk';
const RSA = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDCtpaisHC5geCK67LX2p5MRI8LWO79x+IJPw9RT5RfWEGPYu3EqCzBr9ReGD7I/iQDh9CqnYyPUGCnYq46VsRFBHLlUNEsIAuk0G5cI6eLR5tY1j5DHhEbAuyifq4IsB3jzxPqn9AaDoGK/fZdBBu53CAwOpYS9MD6B2aEz3tc+TUuqXH/o5Qcm6aNtAHGTPe9qyVBjZglKPR59YtPiQQBAYeBDUkjFi3S8myTA4BR8xtPyZENtnxzoHNGjbvdWN6xq84wz07BbZr0U4A0WWnkGr2YCVhLXqgHCcSo0H44LfsQ6/cHYkLDmm/bHrNEm2uk9dlxnNLKWYWqF9blfDYj r';

test('SSH keys are checked as rpinet checks them: known type, blob of that type, one a line', () => {
  const blob = ED.split(' ')[1];
  for (const ok of [ED, ECDSA, RSA, ED.replace(/ /g, '   '), ED.split(' ').slice(0, 2).join(' '), fixture('uci-rpinet.json').main.ssh_key[0]])
    assert.equal(logic.validateSshKey(ok), true, ok);
  const bad = {
    '': /TYPE KEY/,
    'ssh-ed25519': /TYPE KEY/,
    [`ssh-dss ${blob}`]: /"ssh-dss" is not a key type rpinet installs/,
    [`ssh-rsa ${blob}`]: /inside is of type ssh-ed25519, but the line says ssh-rsa/,
    'ssh-ed25519 AAAA': /damaged/,
    'ssh-ed25519 !!!!': /damaged/,
    [`ssh-ed25519 ${blob.slice(0, -4)}`]: /damaged/,
    [`ssh-ed25519 ${blob.slice(0, -1)}`]: /damaged/,
    [`${ED}\nssh-ed25519 ${blob}`]: /One key a line/,
    [`${ED} "quoted"`]: /printable ASCII without "/,
    [`${ED} ü`]: /printable ASCII/,
    [`ssh-ed25519\t${blob}`]: /spaces, not tabs/,
    [`${ED} ${ECDSA}`]: /Two keys on one line/,
    [`${ED}x${ECDSA}`]: /Two keys on one line/, // two lines pasted into one text field
    [`ssh-ed25519 ${'A'.repeat(16 * 1024)}`]: /16 KiB/,
  };
  for (const [k, re] of Object.entries(bad)) assert.match(String(logic.validateSshKey(k)), re, k.slice(0, 60));
  // a 64-byte ed25519 "key" whose blob is well formed but the wrong length
  const long = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 64]), Buffer.alloc(64)]).toString('base64');
  assert.match(logic.validateSshKey(`ssh-ed25519 ${long}`), /32 bytes/);
});

test('the browser\'s SSH key check agrees with rpinet\'s verdicts from the lab (fixtures/rpinet-call/ssh-keys.json)', () => {
  const verdicts = require(path.join(__dirname, 'fixtures', 'rpinet-call', 'ssh-keys.json'));
  assert.ok(verdicts.length >= 10);
  for (const v of verdicts) {
    const ours = logic.validateSshKey(v.key);
    // the one place the browser is stricter: a second key in the comment, which rpinet
    // would install as one useless line
    if (/ ssh-ed25519 AAAA/.test(v.key.split(' ').slice(2).join(' '))) {
      assert.equal(v.accepted, true, v.key);
      assert.match(String(ours), /Two keys on one line/);
      continue;
    }
    assert.equal(ours === true, v.accepted, `${v.key.slice(0, 50)}: browser ${ours}, rpinet ${v.error}`);
  }
});

test('URLs as rpinet\'s check_url, SHA-256 sums, volume sizes and the roll batch', () => {
  for (const ok of ['https://downloads.raspberrypi.com/x.img.xz', 'http://10.0.0.2:8080/a.img', 'HTTPS://Example.org', 'http://[fd00::1]/x.img.gz'])
    assert.equal(logic.validateUrl(ok), true, ok);
  for (const [bad, re] of [['ftp://x/y', /http/], ['file:///etc/passwd', /http/], ['https://', /no host/], ['', /http/],
    ['https://user@host/x', /no host/], ['http://-x/', /no host/], ['https://a b/x', /spaces/], [`https://h/${'x'.repeat(2048)}`, /2048/]])
    assert.match(String(logic.validateUrl(bad)), re, bad.slice(0, 40));
  assert.equal(logic.validateSha256(''), true);
  assert.equal(logic.validateSha256('6AC3a10a1f144c7e9d1f8e568d75ca809288280a593eb6ca053e49b539f465a4'), true);
  assert.equal(typeof logic.validateSha256('abc'), 'string');
  for (const ok of ['', '512M', '32G', '1T']) assert.equal(logic.validateVolumeSize(ok), true, ok);
  for (const bad of ['32', '0G', '32GB', '-1G', '1.5G']) assert.equal(typeof logic.validateVolumeSize(bad), 'string', bad);
  for (const ok of ['', '1', '2', '64']) assert.equal(logic.validateRollBatch(ok), true, ok);
  for (const bad of ['0', '65', '100', 'x', '-1', '1.5']) assert.match(String(logic.validateRollBatch(bad)), /1 to 64/, bad);
});

// the cases of rpinet's own config tests (src/config/mod.rs: parse_host, parse_export, the refusals)
test('an NFS server for the storage: storage_server and storage_export as rpinet parses them', () => {
  for (const ok of ['192.168.1.10', '10.0.0.2', 'nas', 'NAS.lan', 'Pi-Store.Home.arpa', 'a'.repeat(63) + '.lan'])
    assert.equal(logic.validateStorageServer(ok), true, ok);
  for (const bad of ['-nas', 'nas-', 'a..b', 'a_b', 'nas:2049', '1.2.3', 'a b', '10.0.0.256', '0.0.0.0', '255.255.255.255', '224.0.0.1',
    'a'.repeat(64) + '.lan', ('abc.').repeat(64) + 'lan'])
    assert.equal(typeof logic.validateStorageServer(bad), 'string', bad);
  assert.match(logic.validateStorageServer(''), /required/);
  assert.match(logic.validateStorageServer('10.0.0.256'), /"10\.0\.0\.256" is not an IPv4 address/);
  assert.match(logic.validateStorageServer('nas:2049'), /host name such as nas\.lan/);
  for (const ok of ['/mnt/tank/rpinet', '/mnt/tank/rpinet/', '/volume1/rpinet', '/etc/x', '/a/b.c_d-e', '/' + 'x'.repeat(127)])
    assert.equal(logic.validateStorageExport(ok), true, ok);
  for (const [bad, re] of [['', /required/], ['tank', /absolute/], ['/', /absolute/], ['/a,b', /only letters/], ['/a//b', /empty part/],
    ['/a/../b', /no \. or \.\./], ['/a/./b', /no \. or \.\./], ['/a b', /no spaces/], ['/' + 'x'.repeat(128), /128/]])
    assert.match(String(logic.validateStorageExport(bad)), re, bad.slice(0, 40));
  // on a server, a main section without root_mode makes copies (shared is refused there)
  assert.equal(logic.mainRootMode({}), 'shared');
  assert.equal(logic.mainRootMode({ storage_uuid: 'x' }), 'shared');
  assert.equal(logic.mainRootMode({ storage_server: 'nas', storage_export: '/x' }), 'copy');
  assert.equal(logic.mainRootMode({ root_mode: 'copy' }), 'copy');
  assert.equal(logic.mainRootMode(null), 'shared');
});

test('the Raspberry Pi OS list: newest first, sizes, checksum, the name it gets and whether it is taken', () => {
  const cat = fixture('image-catalog.json');
  const rows = logic.catalogRows(cat, fixture('images.json').images);
  assert.deepEqual(rows.map((r) => [r.name, r.date, r.size, r.unpacked, r.imported]), [
    ['Raspberry Pi OS Lite (64-bit)', '2024-11-19', '434.3 MiB', '2.6 GiB', false],
    ['Raspberry Pi OS (64-bit)', '2024-11-19', '1.1 GiB', '5.5 GiB', false]]);
  assert.equal(rows[0].imageName, '2024-11-19-raspios-bookworm-arm64-lite');
  assert.equal(rows[0].sha256, '6ac3a10a1f144c7e9d1f8e568d75ca809288280a593eb6ca053e49b539f465a4');
  assert.equal(rows[1].sha256, '');
  const taken = logic.catalogRows(cat, [{ name: '2024-11-19-raspios-bookworm-arm64-lite' }]);
  assert.equal(taken[0].imported, true);
  // entries rpinet would not fetch are left out; sizes it does not know are ''
  assert.deepEqual(logic.catalogRows({ images: [{ name: 'x', url: 'ftp://h/x.img' }, { url: 'https://h/y.img.xz', size: 0 }] }, [])
    .map((r) => [r.name, r.size]), [['y', '']]);
  assert.deepEqual(logic.catalogRows(3, []), []);
  assert.equal(logic.catalogAge({ fetched: NOW - 300 }, NOW), '5 min ago');
  assert.equal(logic.catalogAge({ images: [], fetched: 0 }, NOW), '');
  assert.equal(logic.imageNameFromPath(rows[0].url), '2024-11-19-raspios-bookworm-arm64-lite');
});

test('health rows for storage, dnsmasq and NFS', () => {
  const rows = logic.healthRows(fixture('status.json'));
  assert.deepEqual(rows.map((r) => [r.key, r.ok, r.state]),
    [['storage', true, 'OK'], ['dnsmasq', true, 'OK'], ['nfs', false, 'Problem']]);
  assert.equal(rows[2].message, 'nfsd is not running: /etc/init.d/nfsd start');
  // a reply without the keys (e.g. {"error": ...}) gives three problems, not a crash
  assert.deepEqual(logic.healthRows({ error: 'x' }).map((r) => r.ok), [false, false, false]);
});

test('discovered Pis: newest first, lower case, prefilled form with a free valid name', () => {
  const rows = logic.discoveredRows(fixture('discovered.json').discovered, [{ name: 'pi_91cdf03e' }], NOW);
  assert.equal(rows.length, 2);
  assert.equal(rows[0].mac, '2c:cf:67:44:55:66');
  assert.deepEqual(rows[0].prefill, { name: 'pi_445566', serial: '', mac: '2c:cf:67:44:55:66', model: 'pi4', boot_id: 'mac' });
  assert.equal(rows[0].model, 'unknown model');
  assert.equal(rows[1].serial, '91cdf03e');
  assert.deepEqual(rows[1].prefill, { name: 'pi_91cdf03e_2', serial: '91cdf03e', mac: 'dc:a6:32:01:02:03', model: 'pi4', boot_id: 'serial' });
  assert.equal(rows[1].lastSeen, '1 min ago');
  for (const r of rows) assert.equal(logic.validateName(r.prefill.name), true);
  assert.deepEqual(logic.discoveredRows(undefined, [], NOW), []);
});

test('job progress: bytes, and rate and time left from the first reply the page saw', () => {
  const jobs = fixture('job-import.json');
  const [a, b, c] = jobs.map((j) => logic.jobView(j));
  assert.deepEqual([a.state, a.percent, a.label, a.finished], ['running', 10, '10%', false]);
  assert.equal(a.detail, '204.8 MiB of 2.0 GiB');
  assert.equal(b.message, 'root: usr/lib/aarch64-linux-gnu/');
  assert.deepEqual([c.state, c.percent, c.finished, c.look, c.label], ['done', 100, true, 'ok', 'Done']);
  // one second after the first reply: 921.6 MiB more, so 921.6 MiB/s and as much again to go
  const seen = { at: 1000, bytes: jobs[0].bytes_done };
  assert.equal(logic.jobView(jobs[1], seen, 1001).detail, '1.1 GiB of 2.0 GiB · 921.6 MiB/s · 1 s left');
  assert.equal(logic.jobView(jobs[1], seen, 1010).detail, '1.1 GiB of 2.0 GiB · 92.2 MiB/s · 10 s left');
  // a download whose size the server did not give: bytes and rate, no time left
  const dl = { state: 'running', progress: 0, bytes_done: 50 << 20, bytes_total: 0 };
  assert.equal(logic.jobView(dl, { at: 0, bytes: 0 }, 10).detail, '50.0 MiB so far · 5.0 MiB/s');
  // no rate from the first reply alone, nor once the job has ended
  assert.equal(logic.jobView(jobs[0], { at: 1000, bytes: jobs[0].bytes_done }, 1000).detail, '204.8 MiB of 2.0 GiB');
  assert.equal(logic.jobView(jobs[2], seen, 1002).detail, '2.0 GiB of 2.0 GiB');
  const f = logic.jobView(fixture('job-provision.json')[1]);
  // a failed job: a full red bar, its reason, and no progress figures
  assert.deepEqual([f.state, f.label, f.message, f.look, f.percent, f.detail], ['failed', 'Failed', 'no space left on /mnt/rpinet', 'problem', 100, '']);
  // a roll: its nodes are its progress, whatever `progress` says
  const roll = fixture('job-roll.json');
  assert.deepEqual(roll.map((j) => [logic.jobView(j).percent, logic.jobView(j).detail]),
    [[0, '0 of 3 nodes up'], [33, '1 of 3 nodes up'], [100, '']]);
  assert.deepEqual([logic.jobView({ error: 'no such job' }).state, logic.jobView({ progress: 250 }).percent], ['failed', 100]);
  assert.deepEqual([45, 200, 3900].map((s) => logic.formatDuration(s)), ['45 s', '3 min 20 s', '1 h 05 min']);
});

test('an image roll: the nodes it can pick, and each node\'s progress with Roll back once it stopped', () => {
  const uci = Object.values(fixture('uci-rpinet.json')).filter((s) => s['.type'] == 'node');
  assert.deepEqual(logic.rollChoices(uci, 'trixie-lite'), {
    from: [{ image: 'bookworm-lite', nodes: ['running_lion', 'quiet_otter', 'slow_hare'] }],
    nodes: [{ name: 'running_lion', image: 'bookworm-lite' }, { name: 'quiet_otter', image: 'bookworm-lite' }, { name: 'slow_hare', image: 'bookworm-lite' }],
  });
  assert.deepEqual(logic.rollChoices(uci, 'bookworm-lite'), { from: [], nodes: [] });

  const steps = fixture('job-roll.json');
  const running = logic.rollRows(steps[1]);
  assert.deepEqual(running.map((r) => [r.name, r.state, r.look, r.text, r.canRollBack]), [
    ['running_lion', 'up', 'ok', 'Up on the new image', false],
    ['quiet_otter', 'booting', 'active', 'Booting: Kernel', false],
    ['slow_hare', 'pending', 'pending', 'Waiting', false]]);
  const stopped = logic.rollRows(steps.at(-1));
  assert.deepEqual(stopped.map((r) => [r.name, r.state, r.canRollBack]), [
    ['running_lion', 'up', false], ['quiet_otter', 'failed', true], ['slow_hare', 'pending', false]]);
  assert.match(stopped[1].error, /cmdline\.txt not found/);
  assert.equal(stopped[1].hint, '');
  const real = logic.rollRows(require(path.join(__dirname, 'fixtures', 'rpinet-call', 'job-image_roll.json')).at(-1));
  assert.deepEqual(real.map((r) => [r.name, r.state, r.canRollBack]), [['running_lion', 'up', false], ['quiet_otter', 'failed', true], ['brave_fox', 'pending', false]]);
  assert.match(real[1].hint, /the kernel loaded but never mounted its root/);
  assert.deepEqual(stopped[1].steps.map((s) => s.stage + ':' + s.state), ['dhcp:done', 'firmware:done', 'kernel:done', 'nfs:failed', 'up:pending', 'running:pending']);
  assert.equal(stopped[0].steps, null);
  assert.deepEqual(logic.rollRows({ state: 'running' }), []);
  assert.equal(logic.rollRows({ state: 'running', nodes: [{ name: 'a', state: 'booting', stage: 'none' }] })[0].text, 'Waiting for its boot');
});

test('image rows: delete refused while a node uses the image', () => {
  const rows = logic.imageRows(fixture('images.json').images);
  assert.deepEqual(rows.map((r) => [r.name, r.deletable, r.size]),
    [['bookworm-lite', false, '2.0 GiB'], ['custom-build', true, '1.0 GiB'], ['trixie-lite', true, '2.3 GiB']]);
  assert.equal(rows[1].os, '');
  assert.equal(rows[0].deleteReason, 'In use by running_lion, quiet_otter; reimage or remove those nodes first');
  assert.equal(rows[0].usedBy, 'running_lion, quiet_otter');
  assert.equal(logic.imageNameFromPath('/mnt/rpinet/2024-11-19-raspios-bookworm-arm64-lite.img.xz'), '2024-11-19-raspios-bookworm-arm64-lite');
  assert.equal(logic.imageNameFromPath('/mnt/x/my image (1).img'), 'my-image-1-');
  assert.equal(logic.validateImagePath('/mnt/rpinet/a.img.xz'), true);
  assert.equal(logic.validateImagePath('/mnt/rpinet/a.img.gz'), true);
  assert.equal(logic.imageNameFromPath('/mnt/rpinet/lite.img.gz'), 'lite');
  assert.equal(logic.validateImagePath('/mnt/rpinet/a.img'), true);
  for (const bad of ['a.img', '/mnt/rpinet/a.iso', '/mnt/../etc/a.img', ''])
    assert.equal(typeof logic.validateImagePath(bad), 'string', bad);
  assert.equal(logic.validateImageName('bookworm-lite'), true);
  assert.equal(typeof logic.validateImageName('../x'), 'string');
});

test('block devices become storage choices, swap and UUID-less ones left out', () => {
  const choices = logic.blockChoices(fixture('block-info.json').devices);
  assert.deepEqual(choices.map((c) => c.value), ['6a1f3c2e-9b7d-4e21-8f0a-2d5c7e9b1a44', '2C4E-11A0']);
  // short enough for a 210px select; the rest is the detail line under it
  assert.equal(choices[0].label, 'sda1 "pi-cluster"');
  assert.equal(choices[0].detail, 'sda1 "pi-cluster": ext4, mounted at /mnt/rpinet, UUID 6a1f3c2e-9b7d-4e21-8f0a-2d5c7e9b1a44');
  assert.equal(choices[1].detail, 'sdb1 "USBSTICK": vfat, not mounted, UUID 2C4E-11A0');
  assert.equal(logic.blockChoices([{ device: 'sdc1', uuid: 'u', size: 512110190592 }])[0].label, 'sdc1 476.9 GiB');
});

test('EEPROM settings per boot_id and DHCP mode', () => {
  const serial = logic.eeprom({ model: 'pi4', boot_id: 'serial' }, { dhcp_mode: 'server', server_ip: '192.168.1.1' });
  assert.equal(serial.applicable, true);
  assert.match(serial.text, /^BOOT_ORDER=0xf21$/m);
  assert.match(serial.text, /^TFTP_PREFIX=0$/m);
  assert.doesNotMatch(serial.text, /TFTP_IP|TFTP_PREFIX_STR/);
  const mac = logic.eeprom({ model: 'pi5', boot_id: 'mac' }, { dhcp_mode: 'server' });
  assert.match(mac.text, /^TFTP_PREFIX=2$/m);
  const custom = logic.eeprom({ model: 'pi4', boot_id: 'custom', boot_dir: 'spare' }, { dhcp_mode: 'proxy', server_ip: '192.168.1.1' });
  assert.match(custom.text, /^TFTP_PREFIX=1\nTFTP_PREFIX_STR=spare\/$/m);
  assert.match(custom.text, /^TFTP_IP=192\.168\.1\.1$/m);
  // every non-comment line is KEY=value, as rpi-eeprom-config reads it
  for (const line of custom.text.trim().split('\n'))
    assert.match(line, /^(#.*|[A-Z_]+=\S*)$/);
  const proxyNoIp = logic.eeprom({ model: 'pi4' }, { dhcp_mode: 'proxy' });
  assert.equal(proxyNoIp.notes.length, 1);
  const pi3 = logic.eeprom({ model: 'pi3', boot_id: 'mac' }, {});
  assert.equal(pi3.applicable, false);
  assert.match(pi3.notes[0], /program_usb_boot_mode=1/);
  assert.match(pi3.notes[1], /serial/);
  assert.equal(logic.serialHelp()[0].code, 'grep Serial /proc/cpuinfo | cut -d " " -f 2 | cut -c 9-16');
});

test('doctor findings: errors first, then warnings, then info; summary', () => {
  const findings = fixture('doctor.json').findings;
  const rows = logic.findingRows(findings);
  assert.deepEqual(rows.map((r) => r.code), ['nfsd_not_running', 'boot_files_missing', 'rpinet_conf_not_loaded', 'eeprom_prefix', 'export_subnet',
    'disabled_node_booting', 'node_degraded', 'proxy_dhcp']);
  assert.deepEqual(rows.map((r) => r.look), ['problem', 'problem', 'problem', 'active', 'active', 'active', 'active', 'pending']);
  assert.deepEqual(rows.slice(0, 4).map((r) => r.scope), ['Router', 'Node running_lion', 'Router', 'Node quiet_otter']);
  assert.match(rows[0].fix.text, /System → Software/);
  assert.deepEqual(logic.findingSummary(findings), { level: 'error', text: '3 errors, 4 warnings' });
  assert.deepEqual(logic.findingSummary([findings[0]]), { level: 'warning', text: '1 warning' });
  assert.deepEqual(logic.findingSummary([]), { level: 'success', text: 'No problems found' });
  assert.equal(logic.findingRows([{ level: 'bogus', message: 'm' }])[0].level, 'info');
  // a node never provisioned is provisioned, not provisioned "again from its image"
  const missing = { level: 'error', code: 'boot_files_missing', node: 'brave_fox' };
  const first = logic.findingRows([missing], () => '')[0].fix;
  assert.match(first.text, /^Provision the node from an image/);
  assert.deepEqual(first.action, { kind: 'provision', node: 'brave_fox', first: true });
  assert.match(logic.findingRows([missing], () => 'bookworm-lite')[0].fix.text, /^Provision the node again from its image/);
  assert.deepEqual(logic.findingRows([missing])[0].fix.action, { kind: 'provision', node: 'brave_fox' });
});

test('formatting helpers', () => {
  assert.equal(logic.formatAge(0, NOW), 'never');
  assert.equal(logic.formatAge(NOW - 5, NOW), '5s ago');
  assert.equal(logic.formatAge(NOW - 7200, NOW), '2 h ago');
  assert.equal(logic.formatAge(NOW - 3 * 86400, NOW), '3 days ago');
  assert.equal(logic.formatAge(NOW + 10, NOW), '0s ago');
  assert.equal(logic.formatSize(512), '512 B');
  assert.equal(logic.formatSize(1536), '1.5 KiB');
  assert.equal(logic.fmt('%s is %d%%', 'x', 42.7), 'x is 42%');
});
