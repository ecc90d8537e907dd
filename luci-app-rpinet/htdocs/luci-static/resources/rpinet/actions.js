'use strict';
'require baseclass';
'require dom';
'require rpc';
'require uci';
'require ui';
'require form';
'require rpinet.logic as logic';
'require rpinet.widgets as widgets';
'require rpinet.crypt as crypt';

/*
 * rpinet.actions — what several pages do to a node the same way, each in LuCI's modal:
 * its details (the boot stage by stage, its report, EEPROM settings, actions), provisioning
 * with every field the command line has (image, first user and password, container volume,
 * new identity), roll back to a kept root, and the fixes Diagnostics offers (apply, enable
 * a node, set an option). Overview, Nodes and Diagnostics call these.
 */

const callNodeProvision = rpc.declare({
	object: 'rpinet',
	method: 'node_provision',
	params: [ 'name', 'image', 'volume_size', 'new_identity', 'user', 'password_hash' ]
});

const callNodeRollback = rpc.declare({
	object: 'rpinet',
	method: 'node_rollback',
	params: [ 'name' ]
});

const callImages = rpc.declare({
	object: 'rpinet',
	method: 'images',
	expect: { images: [] }
});

const callStatus = rpc.declare({
	object: 'rpinet',
	method: 'status',
	params: [ 'offset', 'limit', 'filter' ],
	expect: { '': {} }
});

/* `rpinet apply` as the init script runs it; the ACL grants this one command line only */
const callExec = rpc.declare({
	object: 'file',
	method: 'exec',
	params: [ 'command', 'params' ]
});

const now = () => Math.floor(Date.now() / 1000);

/* the nodes a status page asks for at once (docs/api.md offset/limit) */
const CHUNK = 250;

return baseclass.extend({
	/* true once rpinet refused status's arguments: an rpinet from before paging */
	plainStatus: false,

	/*
	 * status with every node and every field, for a page that shows the cluster (Overview's
	 * table, the Nodes grid): pages of CHUNK, the first asked alone for the count, the rest
	 * together. Asked plainly, a large cluster comes back compact (docs/api.md: no image,
	 * kept root or reasons). An rpinet from before paging refuses the arguments ("unknown
	 * argument"); it is then asked plainly, for every node, from then on. A failed call
	 * resolves to { error } (a sentence).
	 */
	allStatus() {
		if (this.plainStatus)
			return callStatus().catch((e) => ({ error: logic.describeError(e) }));
		return callStatus(0, CHUNK).then((first) => {
			if (first && /unknown argument/.test(first.error || '')) {
				this.plainStatus = true;
				return this.allStatus();
			}
			if (!first || first.error || !Array.isArray(first.nodes))
				return first;
			const rest = [];
			for (let at = CHUNK; at < (+first.matched || 0); at += CHUNK)
				rest.push(callStatus(at, CHUNK));
			return Promise.all(rest).then((pages) => {
				const seen = {}, nodes = [];
				[ first ].concat(pages).forEach((p) => (p && Array.isArray(p.nodes) ? p.nodes : []).forEach((n) => {
					if (n && n.name && !seen[n.name]) {
						seen[n.name] = true;
						nodes.push(n);
					}
				}));
				return Object.assign({}, first, { nodes: nodes });
			});
		}).catch((e) => ({ error: logic.describeError(e) }));
	},

	/* the node's status entry with every field (a page of the nodes whose names contain it) */
	findNode(name) {
		return callStatus(0, 0, name).then((res) => {
			logic.checkReply(res);
			const n = (Array.isArray(res.nodes) ? res.nodes : []).find((x) => x && x.name == name);
			if (!n)
				throw new Error(logic.fmt(_('There is no node %s.'), name));
			return { node: n, status: res };
		});
	},

	/*
	 * A node's details: how its last boot went stage by stage, its own report, what it is,
	 * the EEPROM settings its Pi needs, and what can be done. opts: { status (for the EEPROM
	 * context), writable, onChange() after an action changed something }.
	 */
	showDetails(node, opts) {
		const o = opts || {}, st = o.status || {}, r = logic.nodeRow(node, now()),
		    b = node.boot || {}, steps = logic.timeline(b), report = logic.reportLines(b.report),
		    main = (uci.get('rpinet', 'main') || {}), sec = uci.get('rpinet', node.name) || {},
		    ee = logic.eeprom(node, { dhcp_mode: st.dhcp_mode || main.dhcp_mode || 'server', server_ip: main.server_ip || st.server_ip || '' }),
		    off = o.writable === false ? true : null,
		    info = [
			[ _('Hostname'), r.hostname ],
			[ _('Model'), logic.modelTitle(node.model) ],
			[ _('Serial'), node.serial ],
			[ _('MAC address'), node.mac ],
			[ _('Boot directory'), node.boot_dir || logic.bootDir(node) ],
			[ _('Address'), r.address ? (r.reserved == r.address ? logic.fmt(_('%s (reserved)'), r.address) : r.address) : _('none yet') ],
			[ _('Image'), r.image || _('not provisioned') ],
			[ _('Root'), logic.rootModeText(sec.root_mode, logic.mainRootMode(main), node.root_mode) ],
			[ _('Container volume'), logic.volumeText(node.volume) || _('none') ],
			[ _('Kept root'), r.kept ? (r.kept.image ? logic.fmt(_('the root of %s, kept by an image roll'), r.kept.image) : _('the previous root, kept by an image roll')) : _('none') ]
		    ],
		    table = (rows) => E('table', { 'class': 'table' }, rows.map((p) => E('tr', { 'class': 'tr' }, [
			E('td', { 'class': 'td left', 'width': '33%' }, widgets.text(p[0])),
			E('td', { 'class': 'td left', 'style': widgets.WRAP }, widgets.text(p[1]))
		    ])));

		ui.showModal(logic.fmt(_('Node %s'), node.name), [
			E('p', { 'id': 'rpinet-details-state' }, [
				widgets.label(r.look, r.stateText), ' ',
				r.reason ? E('span', { 'style': widgets.WRAP }, widgets.text(r.reason)) : '',
				r.hint ? E('div', { 'class': 'cbi-value-description', 'style': widgets.WRAP }, widgets.text(r.hint)) : ''
			]),
			E('h5', {}, _('Last boot, stage by stage')),
			E('table', { 'class': 'table', 'id': 'rpinet-details-stages' }, [
				E('tr', { 'class': 'tr table-titles' }, [
					E('th', { 'class': 'th' }, _('Stage')), E('th', { 'class': 'th' }, _('State')),
					E('th', { 'class': 'th' }, _('Time')), E('th', { 'class': 'th' }, _('Detail'))
				]),
				...steps.map((s) => E('tr', { 'class': 'tr', 'data-stage': s.stage, 'data-state': s.state }, [
					E('td', { 'class': 'td', 'data-title': _('Stage') }, widgets.text(s.title)),
					E('td', { 'class': 'td', 'data-title': _('State') }, widgets.label(s.look, logic.stepStateText(s.state))),
					E('td', { 'class': 'td', 'data-title': _('Time') }, widgets.text(s.time)),
					E('td', { 'class': 'td', 'data-title': _('Detail'), 'style': widgets.WRAP }, widgets.text(logic.plainText(s.detail)))
				]))
			]),
			report.length ? E('h5', {}, _('The node\'s own report')) : '',
			report.length ? table(report) : '',
			E('h5', {}, _('The node')),
			table(info),
			E('h5', {}, _('Pi bootloader (EEPROM) settings')),
			ee.applicable ? E('pre', { 'class': 'command-output', 'id': 'rpinet-details-eeprom', 'style': 'user-select:all;white-space:pre-wrap' }, widgets.text(ee.text)) : '',
			...ee.notes.map((n) => E('div', { 'class': 'cbi-value-description' }, widgets.text(n))),
			ee.applicable ? E('div', { 'class': 'cbi-value-description' },
				_('On the Pi: sudo rpi-eeprom-config --edit, add these lines, save and reboot.')) : '',
			E('div', { 'class': 'right' }, [
				E('button', { 'class': 'cbi-button', 'click': ui.hideModal }, _('Close')), ' ',
				r.kept ? E('button', {
					'class': 'cbi-button cbi-button-negative', 'data-rollback': node.name, 'disabled': off,
					'click': ui.createHandlerFn(this, () => this.rollback(node.name, r.kept).then((done) => done && o.onChange && o.onChange()))
				}, _('Roll back')) : '',
				E('button', {
					'class': 'cbi-button cbi-button-action important', 'data-provision': node.name, 'disabled': off,
					'click': ui.createHandlerFn(this, () => this.provisionDialog(node.name, { current: r.image, volume: node.volume, onDone: o.onChange }))
				}, r.image ? _('Reimage…') : _('Provision…'))
			])
		], 'cbi-modal');
	},

	/*
	 * node_rollback, asked first in LuCI's modal: back to the root an image roll kept for the
	 * node. Resolves true when rpinet did it.
	 */
	rollback(name, kept) {
		const what = (kept && kept.image) ? logic.fmt(_('Put %s back on its kept root (image %s)? Its current root is deleted; the node uses the kept one from its next boot.'), name, kept.image)
			: logic.fmt(_('Put %s back on the root an image roll kept for it? Its current root is deleted; the node uses the kept one from its next boot.'), name);
		return widgets.confirm(logic.fmt(_('Roll back %s'), name), what, _('Roll back'), 'negative').then((yes) => {
			if (!yes)
				return false;
			return callNodeRollback(name).then((res) => {
				logic.checkReply(res);
				widgets.notify(logic.fmt(_('%s is back on its previous root; it uses it from its next boot.'), name), 'info');
				return true;
			}).catch((err) => {
				widgets.notify(logic.fmt(_('Could not roll %s back: %s'), name, logic.describeError(err)), 'error');
				return false;
			});
		});
	},

	/*
	 * Provision or reimage in a modal with what `rpinet node provision` takes: the image, a
	 * first user with a password (hashed here: only the hash is sent), the container volume,
	 * and on a reimage a new identity. opts: { current (its image), volume, onDone() }.
	 */
	provisionDialog(name, opts) {
		const o = opts || {};
		return L.resolveDefault(callImages(), []).then((images) => {
			const names = (Array.isArray(images) ? images : []).map((i) => i.name);
			if (!names.length) {
				widgets.notify(_('Import an image first (Images page).'), 'warning');
				return;
			}
			return (uci.get('rpinet', 'main') ? Promise.resolve() : L.resolveDefault(uci.load('rpinet'), null)).then(() => this.renderProvision(name, names, o));
		});
	},

	renderProvision(name, names, o) {
		const main = uci.get('rpinet', 'main') || {}, sec = uci.get('rpinet', name) || {},
		    keys = L.toArray(main.ssh_key).length + L.toArray(sec.ssh_key).length,
		    data = { provision: {
			image: (o.current && names.includes(o.current)) ? o.current : names[0],
			user: '', password: '', password2: '',
			volume_size: sec.volume_size || '', new_identity: '0'
		    } },
		    m = new form.JSONMap(data, null, null),
		    s = m.section(form.NamedSection, 'provision', 'provision');
		let opt;

		opt = s.option(form.ListValue, 'image', _('Image'));
		names.forEach((n) => opt.value(n, n));

		opt = s.option(form.Value, 'user', _('First user'),
			_('A login for the node (Raspberry Pi OS makes none by itself). Empty: none, or the one the node has after a reimage.'));
		opt.placeholder = 'pi';
		opt.validate = (sid, v) => logic.validateUser(v);

		opt = s.option(form.Value, 'password', _('Password'), _('Hashed in this browser (SHA-256-crypt); only the hash reaches the router.'));
		opt.password = true;

		opt = s.option(form.Value, 'password2', _('Password again'));
		opt.password = true;

		opt = s.option(form.Value, 'volume_size', _('Container volume'),
			logic.fmt(_('A disk for /var/lib/rpinet-volume so k3s, containerd or Docker run on an NFS root, e.g. 32G. Empty: %s.'),
				main.volume_size ? logic.fmt(_('the Settings default, %s'), main.volume_size) : _('none')));
		opt.validate = (sid, v) => logic.validateVolumeSize(v);

		if (o.current) {
			opt = s.option(form.Flag, 'new_identity', _('New identity'),
				_('Off: the node keeps its SSH host keys and machine-id, so ssh clients and Kubernetes still know it. On: its next boot makes new ones.'));
		}

		const box = E('div', { 'id': 'rpinet-provision-job' });
		return m.render().then((formEl) => {
			ui.showModal(o.current ? logic.fmt(_('Reimage %s'), name) : logic.fmt(_('Provision %s'), name), [
				E('p', {}, _('The node\'s boot directory and root filesystem are rebuilt from the image. Anything stored on the node is replaced; its container volume is kept.')),
				E('p', { 'class': 'cbi-value-description' }, [
					logic.fmt(_('Root: %s.'), logic.rootModeText(sec.root_mode, logic.mainRootMode(main))), ' ',
					keys ? logic.fmt(N_(keys, '%d SSH key is installed for the first user.', '%d SSH keys are installed for the first user.'), keys)
						: _('No SSH key is set (Settings and the node\'s Edit take them).')
				]),
				formEl,
				box,
				E('div', { 'class': 'right' }, [
					E('button', { 'class': 'cbi-button', 'click': ui.hideModal }, _('Close')), ' ',
					E('button', {
						'class': 'cbi-button cbi-button-action important', 'id': 'rpinet-provision-start',
						'click': ui.createHandlerFn(this, 'startProvision', name, m, data, box, o)
					}, o.current ? _('Reimage') : _('Provision'))
				])
			], 'cbi-modal');
		});
	},

	startProvision(name, m, data, box, o, ev) {
		const button = ev && ev.currentTarget;
		return m.save(null, true).then(() => {
			const d = data.provision, bad = logic.validateProvision(d);
			if (bad !== true)
				throw new Error(bad);
			const hash = d.user ? crypt.hashPassword(d.password) : undefined;
			/* locked while it runs: what was sent stays what the form shows */
			m.root.querySelectorAll('input, select, button').forEach((e) => { e.disabled = true; });
			dom.content(box, E('p', { 'class': 'spinning' }, _('Starting…')));
			return callNodeProvision(name, d.image, d.volume_size || undefined, (d.new_identity == '1') ? true : undefined,
				d.user || undefined, hash).then((res) => {
				logic.checkReply(res, 'job');
				if (button)
					button.setAttribute('data-busy', 'true');
				return widgets.followJob(box, res.job, null, (j) => {
					widgets.notify((j.state == 'done')
						? logic.fmt(_('%s is provisioned from %s.'), name, d.image)
						: logic.fmt(_('Provisioning %s failed: %s'), name, j.message), (j.state == 'done') ? 'info' : 'error');
					uci.unload('rpinet');
					return L.resolveDefault(uci.load('rpinet'), null).then(() => o.onDone && o.onDone());
				});
			});
		}).catch((err) => {
			if (m.root)
				m.root.querySelectorAll('input, select').forEach((e) => { e.disabled = false; });
			dom.content(box, widgets.error(err ? logic.fmt(_('Could not provision: %s'), logic.describeError(err))
				: _('Some values are invalid; see the highlighted fields.')));
		});
	},

	/* `rpinet apply` through the init script (procd runs it on config changes too) */
	apply() {
		return callExec('/etc/init.d/rpinet', [ 'reload' ]).then((res) => {
			if (res && typeof(res) == 'object' && +res.code)
				throw new Error(logic.fmt(_('rpinet apply failed: %s'), String(res.stderr || res.stdout || res.code).trim()));
			if (typeof(res) == 'number' && res)
				throw new Error(logic.ubusStatusText(res));
			widgets.notify(_('rpinet applied its settings again.'), 'info');
			return true;
		});
	},

	/* an option of /etc/config/rpinet set and applied (procd then runs rpinet apply) */
	setOption(section, option, value) {
		return L.resolveDefault(uci.load('rpinet'), null).then(() => {
			uci.set('rpinet', section, option, value);
			return uci.save();
		}).then(() => uci.apply()).then(() => {
			widgets.notify(logic.fmt(_('Set %s.%s to %s and applied.'), section, option, value), 'info');
			return true;
		});
	}
});
