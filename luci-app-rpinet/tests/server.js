// STAND-IN for the router side of LuCI, for the luci-app-rpinet browser tests: uhttpd
// serving /www, the LuCI page shell of each menu.d view, and uhttpd-mod-ubus + rpcd behind
// /ubus/. Not OpenWrt's code. What it keeps faithful:
//  - JSON-RPC 2.0 {"method":"call","params":[sid, object, method, args]} → {"result":[status, data]};
//    a call the login's ACL groups do not grant → {"error":{"code":-32002,"message":"Access denied"}}
//    (rpcd session ACLs: read ∪ write ubus methods of the groups its /etc/config/rpcd login
//    names; a `uci` call needs both the ubus grant of the uci method — LuCI's luci-base group
//    has them: get/changes in read, add/set/delete/apply… in write — and uci read or write of
//    the config; `file exec` needs the ubus grant and a file grant of that exact command
//    line); an unknown object → -32000 "Object not found"; an unknown method of a known
//    object → result [3] (UBUS_STATUS_METHOD_NOT_FOUND);
//  - logins: opts.rpcd is /etc/config/rpcd text (`config login` sections: username, password,
//    list read, list write); a page then asks for a login (LuCI's form: luci_username,
//    luci_password), checks it against opts.passwords (the system password `$p$user`
//    stands for) and gives the browser a session whose calls carry that login's ACLs;
//  - `uci`: get returns the config with the session's staged changes; add/set/delete stage;
//    apply commits;
//  - `rpinet`, hand-made (the default): each method answers with the JSON docs/api.md fixes,
//    from tests/fixtures; a job advances one state per `job` call;
//  - `rpinet`, real (opts.real): a call whose method and arguments make-fixtures.sh recorded in
//    its --root lab (fixtures/rpinet-call/calls.json) gets the reply the real `rpinet call`
//    printed (the last one when a call was recorded twice), and a recorded job replays every
//    state the real job went through, one per `job` call. `images` and uci `rpinet` answer as
//    the lab was after its boots (opts.real true) or as its image roll started (opts.real
//    'fleet'), or with its storage on an NFS server (opts.real 'server': uci-server.json). A
//    call the lab did not make is answered as in the hand-made mode. Not faithful: the replies
//    are fixed, so a replayed import does not add its image to `images`, nor a roll change the
//    config;
//  - `rpinet storage_exports`, in either mode, as rpinet decides from the committed config (not
//    the staged changes, which rpinet does not read): with storage_server the text the real
//    rpinet printed for the lab's cluster on an NFS server, else its refusal (both recorded by
//    make-fixtures.sh). Not faithful: the text is the lab's three nodes whatever the config's;
//  - opts.doctor: a hand-made doctor reply (e.g. doctor-server.json) in place of any other;
//  - `block info` answers from block-info.json.
'use strict';

const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const APP = path.join(__dirname, '..');
const HTDOCS = path.join(APP, 'htdocs');
const STANDIN = path.join(__dirname, 'standin');
const MENU = path.join(APP, 'root', 'usr', 'share', 'luci', 'menu.d', 'luci-app-rpinet.json');
const ACL = path.join(APP, 'root', 'usr', 'share', 'rpcd', 'acl.d', 'luci-app-rpinet.json');

const TYPES = { '.js': 'application/javascript', '.css': 'text/css', '.json': 'application/json', '.html': 'text/html' };

function readJSON(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

// LuCI's luci-base acl.d file (openwrt/luci modules/luci-base/root/usr/share/rpcd/acl.d/
// luci-base.json): `unauthenticated` grants luci.getFeatures, without which no page loads;
// `luci-base` grants the ubus methods of rpcd's uci object (the configs themselves come
// from each app's own group), and the other basic LuCI procedures left out here.
const LUCI_BASE_ACL = {
  unauthenticated: { read: { ubus: { luci: ['getFeatures'] } } },
  'luci-base': {
    read: { ubus: { uci: ['changes', 'get'] } },
    write: { ubus: { uci: ['add', 'apply', 'confirm', 'delete', 'order', 'set', 'rename'] } },
  },
};

// The logins of rpcd's /etc/config/rpcd: root gets every group ("*"); any other login gets
// the read and write parts of the groups its `list read` / `list write` name — nothing else,
// so a user without "unauthenticated" cannot even load LuCI's pages, and one without
// "luci-base" cannot read a uci config.
const USERS = {
  root: { read: ['*'], write: ['*'] },
  reader: { read: ['unauthenticated', 'luci-base', 'luci-app-rpinet'], write: [] },
  nobase: { read: ['unauthenticated', 'luci-app-rpinet'], write: [] },
  nounauth: { read: ['luci-base', 'luci-app-rpinet'], write: [] },
};

// `config login` sections of /etc/config/rpcd as uci reads them: { name: { password, read, write } }
function parseRpcd(text) {
  const logins = {};
  let cur = null;
  for (const raw of String(text).split('\n')) {
    const line = raw.trim();
    const m = /^(config|option|list)\s+(\S+)(?:\s+'([^']*)')?/.exec(line);
    if (!m) continue;
    if (m[1] === 'config') { cur = m[2] === 'login' ? { read: [], write: [] } : null; continue; }
    if (!cur) continue;
    if (m[1] === 'option' && m[2] === 'username') logins[m[3]] = cur;
    else if (m[1] === 'option') cur[m[2]] = m[3];
    else if (m[2] === 'read' || m[2] === 'write') cur[m[2]].push(m[3]);
  }
  return logins;
}

function loadAcl(user = 'root', logins = USERS) {
  const groups = Object.assign({}, LUCI_BASE_ACL, readJSON(ACL));
  const login = logins[user];
  const acl = { ubus: {}, uciRead: new Set(), uciWrite: new Set(), files: {}, groups: { read: new Set(), write: new Set() } };
  for (const [name, group] of Object.entries(groups)) {
    for (const perm of ['read', 'write']) {
      if (!login[perm].includes('*') && !login[perm].includes(name)) continue;
      acl.groups[perm].add(name);
      const p = group[perm] || {};
      for (const [obj, methods] of Object.entries(p.ubus || {}))
        for (const m of methods) (acl.ubus[obj] = acl.ubus[obj] || new Set()).add(m);
      for (const conf of p.uci || []) (perm === 'read' ? acl.uciRead : acl.uciWrite).add(conf);
      for (const [file, ops] of Object.entries(p.file || {})) acl.files[file] = (acl.files[file] || []).concat(ops);
    }
  }
  return acl;
}

function menuViews() {
  const menu = readJSON(MENU);
  return Object.entries(menu)
    .filter(([, v]) => v.action && v.action.type === 'view')
    .map(([k, v]) => ({ url: '/cgi-bin/luci/' + k, title: v.title, order: v.order || 0, view: v.action.path }))
    .sort((a, b) => a.order - b.order);
}

function shell(views, current, env) {
  const tabs = views.map((v) => `<li class="${v === current ? 'cbi-tab' : 'cbi-tab-disabled'}"><a href="${v.url}">${v.title}</a></li>`).join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OpenWrt - ${current.title} - LuCI (stand-in)</title>
<link rel="stylesheet" href="/luci-static/standin/standin.css">
</head><body class="lang_en">
<header><a class="brand" href="#">OpenWrt</a><span class="standin">LuCI stand-in · Services › Raspberry Pi netboot</span></header>
<div id="maincontent" class="container">
<ul class="cbi-tabmenu">${tabs}</ul>
<div id="view"></div>
</div>
<script>window.__luciEnv = ${JSON.stringify(env)};</script>
<script src="/luci-static/resources/luci.js"></script>
<script>L.require('view.${current.view.replace(/\//g, '.')}');</script>
</body></html>`;
}

// LuCI's login form (sysauth): user name and password posted back to the page's address
function loginPage(view, failed) {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>OpenWrt - LuCI (stand-in) login</title>
<link rel="stylesheet" href="/luci-static/standin/standin.css"></head><body>
<div id="maincontent" class="container"><form method="post" action="${view.url}" class="cbi-map">
${failed ? '<div class="alert-message error">Invalid username and/or password! Please try again.</div>' : ''}
<h2>Authorization Required</h2>
<div class="cbi-section"><div class="cbi-value"><label class="cbi-value-title" for="luci_username">Username</label>
<div class="cbi-value-field"><input class="cbi-input-text" type="text" name="luci_username" id="luci_username"></div></div>
<div class="cbi-value"><label class="cbi-value-title" for="luci_password">Password</label>
<div class="cbi-value-field"><input class="cbi-input-text" type="password" name="luci_password" id="luci_password"></div></div></div>
<div class="cbi-page-actions"><button class="btn cbi-button cbi-button-positive important">Log in</button></div>
</form></div></body></html>`;
}

// The same arguments, as JSON-RPC carries them (undefined members are not sent).
function sameArgs(a, b) {
  const norm = (o) => JSON.stringify(Object.keys(o || {}).filter((k) => k !== 'ubus_rpc_session' && o[k] !== undefined).sort()
    .map((k) => [k, o[k]]));
  return norm(a) === norm(b);
}

// opts.real: answer as the real `rpinet call` did in make-fixtures.sh's lab (see above);
// opts.replies: { method: file } answers a method with one recorded reply whatever its
// arguments (e.g. the catalog when the router could not fetch it).
function createServer(opts = {}) {
  const fixtures = opts.fixtures || path.join(__dirname, 'fixtures');
  const real = path.join(fixtures, 'rpinet-call');
  const scene = opts.real === 'fleet' ? { 'images.json': 'images-fleet.json', 'uci-rpinet.json': 'uci-fleet.json' }
    : opts.real === 'server' ? { 'uci-rpinet.json': 'uci-server.json' }
      : { 'uci-rpinet.json': 'uci-boots.json' };
  const fx = (name) => {
    const file = opts.real ? path.join(real, scene[name] || name) : null;
    if (file && fs.existsSync(file)) return readJSON(file);
    return readJSON(path.join(fixtures, name));
  };
  const recordings = opts.real ? readJSON(path.join(real, 'calls.json')) : [];
  // the reply the lab recorded for this call, or undefined; a recorded job's states are kept
  const recorded = (method, args) => {
    const file = (opts.replies || {})[method];
    if (file) return readJSON(path.join(real, file));
    const r = recordings.filter((c) => c.method === method && sameArgs(c.args, args)).at(-1);
    if (!r) return undefined;
    const reply = readJSON(path.join(real, r.reply));
    if (r.job && reply.job) jobs[reply.job] = { steps: readJSON(path.join(real, r.job)), at: 0 };
    return reply;
  };
  // the ACLs of the caller: the session's login with opts.rpcd, else opts.user's
  const logins = opts.rpcd ? parseRpcd(opts.rpcd) : USERS;
  const sessions = {};
  const acls = {};
  const aclOf = (sid) => {
    const user = opts.rpcd ? sessions[sid] : (opts.user || 'root');
    if (!user || !logins[user]) return loadAcl('none', { none: { read: [], write: [] } });
    return (acls[user] = acls[user] || loadAcl(user, logins));
  };
  // LuCI's dispatcher: a page whose acl depends the user reads but cannot write is read-only
  const nodespecOf = (acl) => ({ satisfied: acl.groups.read.has('luci-app-rpinet'), readonly: !acl.groups.write.has('luci-app-rpinet') });
  const views = menuViews();
  const calls = [];
  const jobs = {};
  const state = {
    uci: { rpinet: opts.nodes ? generatedConfig(fx('uci-rpinet.json'), opts.nodes) : fx('uci-rpinet.json'), network: fx('uci-network.json') },
    staged: [],
    committed: [],
    execs: [],
    images: fx('images.json').images,
  };

  function uciView(conf) {
    const v = JSON.parse(JSON.stringify(state.uci[conf] || {}));
    for (const c of state.staged) {
      if (c.config !== conf) continue;
      if (c.op === 'add') v[c.name] = Object.assign({ '.type': c.type, '.name': c.name, '.anonymous': false, '.index': Object.keys(v).length }, c.values);
      if (c.op === 'set' && v[c.section]) Object.assign(v[c.section], c.values);
      if (c.op === 'delete' && v[c.section]) {
        if (c.options) for (const o of c.options) delete v[c.section][o];
        else delete v[c.section];
      }
    }
    return v;
  }

  // status paging (docs/api.md): summary over every node, then filter, then offset/limit.
  // opts.nodes = N makes a cluster of N generated nodes; opts.oldStatus answers as an rpinet
  // before paging did (no summary, every node, any argument refused).
  function statusReply(a) {
    const st = fx('status.json');
    if (opts.nodes) st.nodes = Array.from({ length: opts.nodes }, (_, i) => generatedNode(i));
    if (opts.oldStatus) {
      // an rpinet before paging: status takes no arguments and refuses any other than the session
      const extra = Object.keys(a).find((k) => k !== 'ubus_rpc_session');
      return extra ? { error: `status: unknown argument '${extra}'` } : st;
    }
    // docs/api.md: up counts stage up and running, running those again; emergency is failed
    const summary = { total: st.nodes.length, up: 0, running: 0, degraded: 0, booting: 0, failed: 0, stalled: 0, none: 0 };
    for (const n of st.nodes) {
      const b = n.boot || {};
      if (b.error || b.stage === 'emergency') summary.failed++;
      else if (b.stalled) summary.stalled++;
      else if (b.stage === 'degraded') summary.degraded++;
      else if (b.stage === 'up' || b.stage === 'running') summary.up++;
      else if (!b.stage || b.stage === 'none') summary.none++;
      else summary.booting++;
      if (!b.error && !b.stalled && b.stage === 'running') summary.running++;
    }
    const f = String(a.filter || '');
    const matched = st.nodes.filter((n) => !f || [n.name, n.hostname, n.serial, n.mac, n.ip].some((v) => String(v || '').includes(f)));
    const offset = Math.max(0, +a.offset || 0), limit = Math.max(0, +a.limit || 0),
      nodes = matched.slice(offset, limit ? offset + limit : undefined);
    // docs/api.md: a reply that would reach rpcd's cap with every field (about 650 nodes) is
    // compact: every node, with only what a list needs (no image, kept root, report or hint)
    if (nodes.length > 650)
      return Object.assign(st, { summary, matched: matched.length, offset, limit, compact: true, nodes: nodes.map((n) => {
        const b = n.boot || {}, c = { stage: b.stage, started: b.started, updated: b.updated };
        if (b.error) c.error = b.error;
        if (b.stalled) c.stalled = true;
        return { name: n.name, enabled: n.enabled, model: n.model, serial: n.serial, mac: n.mac, ip: n.ip, provisioned: n.provisioned, boot: c };
      }) });
    return Object.assign(st, { summary, matched: matched.length, offset, limit, nodes });
  }

  // node i of a generated cluster: mostly running with its report, and every other state a
  // page must draw (up without a report, degraded, emergency, a boot error, stalled, booting
  // at each stage, never booted, disabled), on three images; some keep a root from a roll
  function generatedNode(i) {
    const name = `pi_${String(i).padStart(4, '0')}`, serial = (0x10000000 + i).toString(16);
    const mac = `dc:a6:32:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
    const ip = `10.1.${i >> 8}.${i & 255}`;
    const images = ['bookworm-lite', 'bookworm-lite', 'trixie-lite', 'k3s-worker'];
    const stages = ['dhcp', 'firmware', 'kernel', 'nfs', 'up'];
    const t0 = 1700000000 - (i % 50) * 7;
    const kind = i % 97 === 0 ? 'error' : i % 89 === 0 ? 'stalled' : i % 53 === 0 ? 'degraded' : i % 151 === 0 ? 'emergency'
      : i % 71 === 0 ? 'none' : i % 10 === 0 ? 'booting' : i % 31 === 0 ? 'up' : 'running';
    const reached = { error: 2, stalled: 2, booting: i % 4, none: -1 }[kind] ?? 4;
    const boot = { stage: kind === 'none' ? 'none' : reached < 4 ? stages[reached] : ['running', 'degraded', 'emergency'].includes(kind) ? kind : 'up',
      started: kind === 'none' ? 0 : t0, updated: kind === 'none' ? 0 : t0 + 10 * (reached + 1), ip: kind === 'none' ? '' : ip,
      stages: stages.slice(0, reached + 1).map((st, k) => ({ stage: st, time: t0 + 10 * k, detail: ['offered ' + ip, 'start4.elf', 'kernel8.img', `/mnt/rpinet/nfs/${name}`, 'ssh'][k] })),
      error: kind === 'error' ? `cmdline.txt not found in ${serial}/` : null };
    if (kind === 'error') boot.hint = 'the kernel loaded but never mounted its root: check cmdline.txt\'s nfsroot';
    if (kind === 'stalled') Object.assign(boot, { stalled: true, hint: 'the kernel was fetched 11 minutes ago and never asked for its root over NFS' });
    if (['running', 'degraded', 'emergency'].includes(kind)) {
      boot.report = { state: kind === 'emergency' ? 'maintenance' : kind, mode: kind === 'emergency' ? 'emergency' : 'multi-user', kernel: '6.6.51-v8+',
        times: { kernel_ms: 2400 + (i % 7) * 100, initrd_ms: 0, userspace_ms: 18000 + (i % 13) * 700, multi_user_ms: 20400 + (i % 13) * 700 + (i % 7) * 100 },
        failed_units: kind === 'running' ? [] : ['resize2fs_once.service'], ordering_cycles: [], failed_jobs: [], warnings: [], volume: '', runtimes: [], written: t0 + 60 };
      if (kind !== 'running') boot.problems = kind === 'degraded' ? ['systemd says degraded', 'failed: resize2fs_once.service'] : ['emergency mode', 'failed: local-fs.target'];
    }
    return { name, hostname: name.replace(/_/g, '-'), enabled: i % 211 !== 5, model: i % 5 === 0 ? 'pi5' : 'pi4', serial, mac, boot_id: 'serial',
      boot_dir: serial, ip, image: kind === 'none' ? '' : images[i % images.length], provisioned: kind !== 'none', volume: null,
      root_mode: i % 3 ? 'shared' : 'copy', kept: (kind === 'error' || kind === 'degraded') ? { image: 'bookworm-lite' } : null, boot };
  }

  // /etc/config/rpinet of a generated cluster: the fixture's main section and a node section per node
  function generatedConfig(conf, n) {
    const out = { main: conf.main };
    for (let i = 0; i < n; i++) {
      const g = generatedNode(i);
      out[g.name] = { '.type': 'node', '.name': g.name, '.anonymous': false, '.index': i + 1, enabled: g.enabled ? '1' : '0',
        serial: g.serial, mac: g.mac, model: g.model, boot_id: 'serial', ip: g.ip };
      if (g.image) out[g.name].image = g.image;
    }
    return out;
  }

  // a hand-made job: its states from `file`; an import's image appears once it is done
  function startJob(file, image) {
    const steps = fx(file);
    jobs[steps[0].id] = { steps, at: 0, image };
    return { job: steps[0].id };
  }

  // the Raspberry Pi OS list; with opts.catalogFetching = N the first N calls answer as the
  // router does while its first fetch of the list runs
  let catalogCalls = 0;
  function catalogReply() {
    if (catalogCalls++ < (opts.catalogFetching || 0)) return { images: [], fetched: 0 };
    return fx('image-catalog.json');
  }

  const rpinet = {
    status: (a) => statusReply(a),
    discovered: () => fx('discovered.json'),
    doctor: () => fx(opts.doctor || 'doctor.json'),
    // rpinet reads /etc/config/rpinet itself: what Save staged counts once it is applied
    storage_exports: () => readJSON(path.join(real, state.uci.rpinet.main && state.uci.rpinet.main.storage_server
      ? 'storage_exports-server.json' : 'storage_exports-ssd.json')),
    images: () => ({ images: state.images }),
    node_add: (a) => ({ node: { name: a.name, hostname: String(a.name).replace(/_/g, '-'), enabled: true, model: a.model || 'pi4',
      serial: a.serial, mac: a.mac, boot_id: a.boot_id || 'serial', boot_dir: a.boot_dir || '', ip: a.ip || '', image: '' } }),
    node_remove: (a) => {
      // the real plugin edits /etc/config/rpinet itself
      if (!state.uci.rpinet[a.name]) return { error: `no node named ${a.name}` };
      delete state.uci.rpinet[a.name];
      return { removed: a.name, purged: !!a.purge };
    },
    image_import: (a) => (a.url && !/^https?:\/\//.test(a.url) ? { error: `url must be http or https: ${a.url}` }
      : startJob('job-import.json', a.name || 'raspios-lite')),
    image_catalog: () => catalogReply(),
    image_roll: (a) => (state.images.some((i) => i.name === a.image) ? startJob('job-roll.json') : { error: `no image named ${a.image}` }),
    node_rollback: (a) => (state.uci.rpinet[a.name] ? { rolled_back: a.name } : { error: `no node named ${a.name}` }),
    // as rpinet: a user and its password hash go together, and the hash is a crypt(3) one
    node_provision: (a) => {
      if (!!a.user !== !!a.password_hash) return { error: 'node_provision: user and password_hash go together' };
      if (a.password_hash && !/^\$[A-Za-z0-9]+\$[A-Za-z0-9$./=,]+\$[A-Za-z0-9./]+$/.test(a.password_hash))
        return { error: '--password-hash must be a crypt(3) hash like `openssl passwd -6` prints ($6$salt$hash)' };
      return startJob('job-provision.json');
    },
    job: (a) => {
      const j = jobs[a.id];
      if (!j) return { error: `no job ${a.id}` };
      const step = j.steps[Math.min(j.at, j.steps.length - 1)];
      j.at++;
      if (step.state === 'done' && j.image && !state.images.some((i) => i.name === j.image))
        state.images.push({ name: j.image, created: 1700000300, size: 2147483648, os: 'bookworm', used_by: [] });
      return step;
    },
  };

  function ubusCall(object, method, args, acl) {
    // rpcd answers session.access for any session: may it use scope/object/function?
    if (object === 'session' && method === 'access') {
      const ok = args.scope === 'uci' ? (args.function === 'write' ? acl.uciWrite : acl.uciRead).has(args.object)
        : !!(acl.ubus[args.object] && acl.ubus[args.object].has(args.function));
      return [0, { access: ok }];
    }
    if (object === 'uci') {
      // rpcd: the ubus grant of the method (LuCI's luci-base group), then the config's
      if (!acl.ubus.uci || !acl.ubus.uci.has(method)) return 'denied';
      const conf = args.config;
      const read = ['get', 'state'].includes(method);
      const write = ['add', 'set', 'delete', 'rename', 'order'].includes(method);
      if (read && !acl.uciRead.has(conf)) return 'denied';
      if (write && !acl.uciWrite.has(conf)) return 'denied';
      if ((method === 'apply' || method === 'confirm' || method === 'rollback') && acl.uciWrite.size === 0) return 'denied';
      switch (method) {
        case 'get': return [0, { values: uciView(conf) }];
        case 'add': state.staged.push({ op: 'add', config: conf, type: args.type, name: args.name, values: args.values || {} }); return [0, { section: args.name }];
        case 'set': state.staged.push({ op: 'set', config: conf, section: args.section, values: args.values || {} }); return [0];
        case 'delete': state.staged.push({ op: 'delete', config: conf, section: args.section, options: args.options || null }); return [0];
        case 'changes': return [0, { changes: state.staged }];
        case 'apply':
          for (const conf2 of Object.keys(state.uci)) state.uci[conf2] = uciView(conf2);
          state.committed.push(...state.staged);
          state.staged = [];
          return [0];
        default: return [3];
      }
    }
    if (!acl.ubus[object] || !acl.ubus[object].has(method)) return 'denied';
    if ((opts.deny || []).includes(`${object}.${method}`)) return 'denied'; // a user without the grant
    if (object === 'luci') return method === 'getFeatures' ? [0, {}] : [3];
    if (object === 'file') {
      // rpcd's file exec: the command, or the command line with its arguments, granted for exec
      if (method !== 'exec') return [3];
      const line = [args.command].concat(args.params || []).join(' ');
      if (!(acl.files[line] || acl.files[args.command] || []).includes('exec')) return 'denied';
      state.execs.push(line);
      return [0, { code: 0, stdout: '', stderr: '' }];
    }
    if (object === 'block') {
      if (opts.noblock) return 'noobject'; // block-mount (blockd) not installed
      return method === 'info' ? [0, fx('block-info.json')] : [3];
    }
    if (object === 'rpinet') {
      // images, storage_exports and a hand-made doctor answer from the router's state
      const own = method === 'images' || method === 'storage_exports' || (method === 'doctor' && opts.doctor);
      const reply = own ? undefined : recorded(method, args || {});
      if (reply !== undefined) return [0, reply];
      return rpinet[method] ? [0, rpinet[method](args || {})] : [3];
    }
    return 'noobject';
  }

  function handleRpc(msg) {
    const reply = { jsonrpc: '2.0', id: msg.id };
    if (msg.method !== 'call' || !Array.isArray(msg.params)) {
      reply.error = { code: -32600, message: 'Invalid request' };
      return reply;
    }
    const [sid, object, method, args] = msg.params;
    const res = ubusCall(object, method, args || {}, aclOf(sid));
    calls.push({ object, method, args: args || {}, result: res });
    if (res === 'denied') reply.error = { code: -32002, message: 'Access denied' };
    else if (res === 'noobject') reply.error = { code: -32000, message: 'Object not found' };
    else reply.result = res;
    return reply;
  }

  function serveFile(res, file) {
    fs.readFile(file, (err, data) => {
      if (err) {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        return res.end('not found');
      }
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-store' });
      res.end(data);
    });
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname === '/ubus/' && req.method === 'POST') {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        let out;
        try {
          const msg = JSON.parse(body);
          out = Array.isArray(msg) ? msg.map(handleRpc) : handleRpc(msg);
        } catch {
          out = { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } };
        }
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(out));
      });
      return;
    }
    if (url.pathname === '/cgi-bin/luci/admin/status/overview') {
      const page = { url: url.pathname, title: 'Overview', view: 'status/index' };
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      return res.end(shell(views, page, { pollinterval: 5, includes: ['70_rpinet'] }));
    }
    const view = views.find((v) => v.url === url.pathname);
    if (view && opts.rpcd) {
      // LuCI's login: a form, then a session cookie; the page's calls carry the session id
      const sid = (/(?:^|;\s*)sysauth_http=([0-9a-f]{32})/.exec(req.headers.cookie || '') || [])[1];
      if (req.method === 'POST') {
        let body = '';
        req.on('data', (c) => { body += c; });
        req.on('end', () => {
          const f = new URLSearchParams(body), user = f.get('luci_username'), login = logins[user];
          const pw = login && /^\$p\$(.+)$/.exec(login.password || '');
          if (!login || !pw || (opts.passwords || {})[pw[1]] !== f.get('luci_password')) {
            res.writeHead(403, { 'Content-Type': 'text/html; charset=utf-8' });
            return res.end(loginPage(view, true));
          }
          const id = require('node:crypto').randomBytes(16).toString('hex');
          sessions[id] = user;
          res.writeHead(302, { 'Set-Cookie': `sysauth_http=${id}; path=/cgi-bin/luci; HttpOnly`, Location: url.pathname });
          res.end();
        });
        return;
      }
      if (!sid || !sessions[sid]) {
        res.writeHead(403, { 'Content-Type': 'text/html; charset=utf-8' });
        return res.end(loginPage(view, false));
      }
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      return res.end(shell(views, view, { pollinterval: 5, sessionid: sid, nodespec: nodespecOf(aclOf(sid)) }));
    }
    if (view) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      return res.end(shell(views, view, opts.nodespec === false ? { pollinterval: 5 } : { pollinterval: 5, nodespec: nodespecOf(aclOf()) }));
    }
    if (url.pathname.startsWith('/luci-static/standin/'))
      return serveFile(res, path.join(STANDIN, path.basename(url.pathname)));
    if (url.pathname.startsWith('/luci-static/resources/')) {
      const rel = path.normalize(url.pathname).replace(/^\/+/, '');
      const own = path.join(HTDOCS, rel);
      if (own.startsWith(HTDOCS) && fs.existsSync(own)) return serveFile(res, own);
      return serveFile(res, path.join(STANDIN, path.basename(rel)));
    }
    res.writeHead(404);
    res.end();
  });

  return {
    server, calls, state, views,
    listen: () => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`))),
    close: () => new Promise((resolve) => {
      server.close(resolve);
      server.closeAllConnections(); // the browser's keep-alive connections
    }),
  };
}

module.exports = { createServer };

if (require.main === module) {
  const s = createServer();
  s.server.listen(+(process.env.PORT || 8080), '127.0.0.1', () => console.log(`stand-in LuCI on http://127.0.0.1:${s.server.address().port}${s.views[0].url}`));
}
