// STAND-IN for the router side of LuCI, for the luci-app-rpinet browser tests: uhttpd
// serving /www, the LuCI page shell of each menu.d view, and uhttpd-mod-ubus + rpcd behind
// /ubus/. Not OpenWrt's code. What it keeps faithful:
//  - JSON-RPC 2.0 {"method":"call","params":[sid, object, method, args]} → {"result":[status, data]};
//    a call the app's acl.d file does not grant → {"error":{"code":-32002,"message":"Access denied"}}
//    (rpcd session ACLs: read ∪ write ubus methods; uci get needs uci read on the config,
//    add/set/delete need uci write); an unknown object → -32000 "Object not found"; an unknown
//    method of a known object → result [3] (UBUS_STATUS_METHOD_NOT_FOUND);
//  - `uci`: get returns the config with the session's staged changes; add/set/delete stage;
//    apply commits;
//  - `rpinet`, hand-made (the default): each method answers with the JSON docs/api.md fixes,
//    from tests/fixtures; a job advances one state per `job` call;
//  - `rpinet`, real (opts.real): a call whose method and arguments make-fixtures.sh recorded in
//    its --root lab (fixtures/rpinet-call/calls.json) gets the reply the real `rpinet call`
//    printed (the last one when a call was recorded twice), and a recorded job replays every
//    state the real job went through, one per `job` call. `images` and uci `rpinet` answer as
//    the lab was after its boots (opts.real true) or as its image roll started (opts.real
//    'fleet'). A call the lab did not make is answered as in the hand-made mode. Not faithful:
//    the replies are fixed, so a replayed import does not add its image to `images`, nor a
//    roll change the config;
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

// LuCI's luci-base acl.d file grants luci.getFeatures only through this group (read in
// openwrt/luci modules/luci-base/root/usr/share/rpcd/acl.d/luci-base.json).
const LUCI_BASE_ACL = { unauthenticated: { read: { ubus: { luci: ['getFeatures'] } } } };

// The logins of rpcd's /etc/config/rpcd: root gets every group ("*"); any other login gets
// the read and write parts of the groups its `list read` / `list write` name — nothing else,
// so a user without "unauthenticated" cannot even load LuCI's pages.
const USERS = {
  root: { read: ['*'], write: ['*'] },
  reader: { read: ['unauthenticated', 'luci-app-rpinet'], write: [] },
  nounauth: { read: ['luci-app-rpinet'], write: [] },
};

function loadAcl(user = 'root') {
  const groups = Object.assign({}, LUCI_BASE_ACL, readJSON(ACL));
  const login = USERS[user];
  const acl = { ubus: {}, uciRead: new Set(), uciWrite: new Set(), groups: { read: new Set(), write: new Set() } };
  for (const [name, group] of Object.entries(groups)) {
    for (const perm of ['read', 'write']) {
      if (!login[perm].includes('*') && !login[perm].includes(name)) continue;
      acl.groups[perm].add(name);
      const p = group[perm] || {};
      for (const [obj, methods] of Object.entries(p.ubus || {}))
        for (const m of methods) (acl.ubus[obj] = acl.ubus[obj] || new Set()).add(m);
      for (const conf of p.uci || []) (perm === 'read' ? acl.uciRead : acl.uciWrite).add(conf);
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
  const acl = loadAcl(opts.user || 'root');
  // LuCI's dispatcher: a page whose acl depends the user reads but cannot write is read-only
  const nodespec = { satisfied: acl.groups.read.has('luci-app-rpinet'), readonly: !acl.groups.write.has('luci-app-rpinet') };
  const views = menuViews();
  const calls = [];
  const jobs = {};
  const state = {
    uci: { rpinet: fx('uci-rpinet.json'), network: fx('uci-network.json') },
    staged: [],
    committed: [],
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
    const summary = { total: st.nodes.length, up: 0, booting: 0, failed: 0, stalled: 0, none: 0 };
    for (const n of st.nodes) {
      const b = n.boot || {};
      if (b.error) summary.failed++;
      else if (b.stalled) summary.stalled++;
      else if (b.stage === 'up') summary.up++;
      else if (!b.stage || b.stage === 'none') summary.none++;
      else summary.booting++;
    }
    const f = String(a.filter || '');
    const matched = st.nodes.filter((n) => !f || [n.name, n.hostname, n.serial, n.mac, n.ip].some((v) => String(v || '').includes(f)));
    const offset = Math.max(0, +a.offset || 0), limit = Math.max(0, +a.limit || 0);
    return Object.assign(st, { summary, matched: matched.length, offset, limit,
      nodes: matched.slice(offset, limit ? offset + limit : undefined) });
  }

  function generatedNode(i) {
    const name = `pi_${String(i).padStart(4, '0')}`, serial = (0x10000000 + i).toString(16);
    const mac = `dc:a6:32:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
    const ip = `10.1.${i >> 8}.${i & 255}`;
    return { name, hostname: name.replace(/_/g, '-'), enabled: true, model: 'pi4', serial, mac, boot_id: 'serial',
      boot_dir: serial, ip, image: 'bookworm-lite', provisioned: true, volume: null,
      boot: { stage: i % 10 ? 'up' : 'kernel', started: 1700000000, updated: 1700000100, ip, stages: [], error: i % 97 ? null : 'kernel8.img not found' } };
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
    doctor: () => fx('doctor.json'),
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
    node_provision: () => startJob('job-provision.json'),
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

  function ubusCall(object, method, args) {
    // rpcd answers session.access for any session: may it use scope/object/function?
    if (object === 'session' && method === 'access') {
      const ok = args.scope === 'uci' ? (args.function === 'write' ? acl.uciWrite : acl.uciRead).has(args.object)
        : !!(acl.ubus[args.object] && acl.ubus[args.object].has(args.function));
      return [0, { access: ok }];
    }
    if (object === 'uci') {
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
    if (object === 'block') {
      if (opts.noblock) return 'noobject'; // block-mount (blockd) not installed
      return method === 'info' ? [0, fx('block-info.json')] : [3];
    }
    if (object === 'rpinet') {
      const reply = (method === 'images') ? undefined : recorded(method, args || {});
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
    const [, object, method, args] = msg.params;
    const res = ubusCall(object, method, args || {});
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
    if (view) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      return res.end(shell(views, view, opts.nodespec === false ? { pollinterval: 5 } : { pollinterval: 5, nodespec }));
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
