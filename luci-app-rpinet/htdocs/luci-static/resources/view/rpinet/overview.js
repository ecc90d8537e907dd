'use strict';
'require view';
'require dom';
'require poll';
'require rpc';
'require ui';
'require form';
'require rpinet.logic as logic';
'require rpinet.widgets as widgets';
'require rpinet.access as access';

/*
 * Services → Raspberry Pi netboot → Overview: storage, dnsmasq and NFS health, the cluster
 * at a glance, one card per node with its boot timeline (a page of them at a time, with a
 * filter, for clusters of hundreds), and the Pis seen on the network that are not nodes yet.
 * Refreshes itself every 5 seconds. A user without write access sees no Add button.
 */

const PAGE = 50;

const callStatus = rpc.declare({
	object: 'rpinet',
	method: 'status',
	params: [ 'offset', 'limit', 'filter' ],
	expect: { '': {} }
});

const callDiscovered = rpc.declare({
	object: 'rpinet',
	method: 'discovered',
	expect: { discovered: [] }
});

const callNodeAdd = rpc.declare({
	object: 'rpinet',
	method: 'node_add',
	params: [ 'name', 'serial', 'mac', 'model', 'boot_id', 'boot_dir', 'ip', 'volume_size' ]
});

const now = () => Math.floor(Date.now() / 1000);

/* Text from outside (rpinet's replies) goes in as a text node, never as markup. */
return view.extend({
	/* the page of node cards shown and the filter typed */
	offset: 0,
	filter: '',

	/*
	 * Asks for one page of nodes (contract 1). An rpinet from before paging refuses the
	 * arguments ("unknown argument"); then the page asks it plainly, for every node, from
	 * then on. A failed call (rpinet not installed, rpcd down) shows as a message.
	 */
	getStatus() {
		const ask = this.plain ? callStatus() : callStatus(this.offset, PAGE, this.filter || undefined);
		return ask.then((res) => {
			if (!this.plain && res && /unknown argument/.test(res.error || '')) {
				this.plain = true;
				return this.getStatus();
			}
			return res;
		}).catch((e) => ({ error: logic.describeError(e) }));
	},

	load() {
		return Promise.all([ this.getStatus(), L.resolveDefault(callDiscovered(), []) ]);
	},

	/* whether this login may add nodes, asked once before the first render */
	writable: true,

	renderHealth(status) {
		return E('table', { 'class': 'table', 'id': 'rpinet-health' }, [
			E('tr', { 'class': 'tr table-titles' }, [
				E('th', { 'class': 'th' }, _('Service')),
				E('th', { 'class': 'th' }, _('State')),
				E('th', { 'class': 'th' }, _('Details'))
			]),
			...logic.healthRows(status).map((h) => E('tr', { 'class': 'tr', 'data-health': h.key }, [
				E('td', { 'class': 'td', 'data-title': _('Service') }, E('strong', {}, h.title)),
				E('td', { 'class': 'td', 'data-title': _('State') }, widgets.label(h.look, h.state)),
				E('td', { 'class': 'td', 'data-title': _('Details') }, widgets.text(h.message))
			]))
		]);
	},

	renderSummary(status) {
		const n = logic.summary(status),
		    parts = [
			[ 'up', 'ok', _('up') ], [ 'booting', 'active', _('booting') ], [ 'failed', 'problem', _('failed') ],
			[ 'stalled', 'problem', _('stalled') ], [ 'none', 'pending', _('not booted') ]
		    ];
		return E('p', { 'id': 'rpinet-summary' }, [
			E('strong', {}, logic.fmt(N_(n.total, '%d node', '%d nodes'), n.total)), ': ',
			...parts.filter((p) => n[p[0]] > 0).flatMap((p) => [ widgets.label(p[1], logic.fmt('%d %s', n[p[0]], p[2]), { 'data-count': p[0] }), ' ' ])
		]);
	},

	renderNodeCard(node) {
		const c = logic.nodeCard(node, now()),
		    rows = [
			[ _('Model'), widgets.text(c.model) ],
			[ _('Address'), c.address ? [ E('code', {}, widgets.text(c.address)),
				(c.reserved && c.reserved == c.address) ? E('small', {}, [ ' ', _('(reserved)') ]) : '' ] : E('em', {}, _('none yet')) ],
			[ _('Last boot'), c.lastBootTime ? E('span', { 'title': c.lastBootTime }, widgets.text(c.lastBoot)) : widgets.text(c.lastBoot) ],
			[ _('Boot directory'), E('code', {}, widgets.text(c.bootDir)) ],
			[ _('Image'), c.image ? widgets.text(c.image) : E('em', {}, _('not provisioned')) ]
		    ];

		if (c.volume)
			rows.push([ _('Container volume'), widgets.text(c.volume) ]);

		return E('div', { 'class': 'cbi-section rpinet-node', 'data-node': c.name, 'data-state': c.badge.state }, [
			E('h3', {}, [ c.name, ' ', widgets.label(c.badge.look, c.badge.text, { 'class': logic.stateClass(c.badge.look) + ' rpinet-badge' }) ]),
			widgets.timeline(c.steps),
			c.error ? E('div', { 'class': 'alert-message error rpinet-error' }, [
				E('strong', {}, _('First problem:')), ' ', ...widgets.text(c.error)
			]) : '',
			c.stalled ? E('div', { 'class': 'alert-message warning rpinet-stalled' }, [
				E('strong', {}, _('No progress:')), ' ', ...widgets.text(c.stalled)
			]) : '',
			E('table', { 'class': 'table' }, rows.map((r) => E('tr', { 'class': 'tr' }, [
				E('td', { 'class': 'td left', 'width': '33%' }, r[0]),
				E('td', { 'class': 'td left' }, r[1])
			])))
		]);
	},

	renderNodes(status) {
		const nodes = Array.isArray(status.nodes) ? status.nodes : [],
		    pg = logic.pager(status, PAGE);

		if (!nodes.length)
			return E('div', { 'class': 'cbi-section' }, E('em', {}, this.filter
				? _('No node matches the filter.')
				: _('No nodes yet. Add a discovered Pi below, or add one under Nodes.')));

		return E('div', {}, [
			E('div', { 'id': 'rpinet-nodes' }, nodes.map((n) => this.renderNodeCard(n))),
			pg.paged && pg.pages > 1 ? E('div', { 'class': 'cbi-section', 'id': 'rpinet-pager' }, [
				E('button', {
					'class': 'cbi-button', 'disabled': pg.page == 0 || null,
					'click': ui.createHandlerFn(this, 'handlePage', -1)
				}, _('Previous')), ' ',
				E('span', { 'data-page': pg.page + 1 }, logic.fmt(_('Nodes %d–%d of %d'), pg.from, pg.to, pg.matched)), ' ',
				E('button', {
					'class': 'cbi-button', 'disabled': pg.page + 1 >= pg.pages || null,
					'click': ui.createHandlerFn(this, 'handlePage', +1)
				}, _('Next'))
			]) : ''
		]);
	},

	renderDiscovered(status, discovered) {
		const rows = logic.discoveredRows(discovered, status.nodes, now()),
		    writable = this.writable;

		if (!rows.length)
			return E('em', {}, _('No unknown Raspberry Pi has asked for a network boot yet.'));

		return E('table', { 'class': 'table', 'id': 'rpinet-discovered' }, [
			E('tr', { 'class': 'tr table-titles' }, [
				E('th', { 'class': 'th' }, _('MAC address')),
				E('th', { 'class': 'th' }, _('Serial')),
				E('th', { 'class': 'th' }, _('Model')),
				E('th', { 'class': 'th' }, _('IPv4 address')),
				E('th', { 'class': 'th' }, _('Last seen')),
				E('th', { 'class': 'th cbi-section-actions' }, '')
			]),
			...rows.map((r) => E('tr', { 'class': 'tr', 'data-mac': r.mac }, [
				E('td', { 'class': 'td', 'data-title': _('MAC address') }, E('code', {}, widgets.text(r.mac))),
				E('td', { 'class': 'td', 'data-title': _('Serial') }, r.serial ? E('code', {}, widgets.text(r.serial)) : E('em', {}, _('unknown'))),
				E('td', { 'class': 'td', 'data-title': _('Model') }, widgets.text(r.model)),
				E('td', { 'class': 'td', 'data-title': _('IPv4 address') }, widgets.text(r.ip)),
				E('td', { 'class': 'td', 'data-title': _('Last seen') }, widgets.text(r.lastSeen)),
				E('td', { 'class': 'td cbi-section-actions' },
					E('button', {
						'class': 'cbi-button cbi-button-add',
						'disabled': writable ? null : true,
						'title': writable ? _('Add this Pi as a node') : _('Read-only access: you cannot add nodes'),
						'click': ui.createHandlerFn(this, 'handleAddNode', r.prefill)
					}, _('Add')))
			]))
		]);
	},

	/* The node form, prefilled from a discovered Pi, in a modal; Save calls node_add. */
	handleAddNode(prefill) {
		const data = { node: Object.assign({ ip: '', boot_dir: '', volume_size: '' }, prefill) },
		    m = new form.JSONMap(data, null, null),
		    s = m.section(form.NamedSection, 'node', 'node');
		let o;

		o = s.option(form.Value, 'name', _('Name'), _('Lower-case letters, digits and _; the hostname uses - for _.'));
		o.rmempty = false;
		o.validate = (sid, v) => logic.validateName(v);

		o = s.option(form.ListValue, 'model', _('Model'));
		logic.MODELS.forEach((k) => o.value(k, logic.modelTitle(k)));

		o = s.option(form.Value, 'serial', _('Serial'), _('8 hex digits, any case.'));
		o.rmempty = false;
		o.validate = (sid, v) => logic.validateSerial(v);

		o = s.option(form.Value, 'mac', _('MAC address'));
		o.rmempty = false;
		o.validate = (sid, v) => logic.validateMac(v);

		o = s.option(form.ListValue, 'boot_id', _('Boot directory'), _('What the Pi\'s EEPROM TFTP_PREFIX names its boot directory by.'));
		o.value('serial', _('Serial number'));
		o.value('mac', _('MAC address'));
		o.value('custom', _('Custom name'));

		o = s.option(form.Value, 'boot_dir', _('Custom boot directory'));
		o.depends('boot_id', 'custom');
		o.validate = (sid, v) => logic.validateBootDir('custom', v);

		o = s.option(form.Value, 'ip', _('IPv4 address'), _('Optional: empty picks a free address and reserves it for this node.'));
		o.placeholder = _('automatic');
		o.validate = (sid, v) => logic.validateIPv4(v, true);

		o = s.option(form.Value, 'volume_size', _('Container volume'), _('Optional: a disk for /var/lib/rpinet-volume, so containers (k3s, Docker) run on an NFS root, e.g. 32G.'));
		o.validate = (sid, v) => logic.validateVolumeSize(v);

		return m.render().then((nodes) => {
			ui.showModal(_('Add node'), [
				nodes,
				E('div', { 'class': 'right' }, [
					E('button', { 'class': 'cbi-button', 'click': ui.hideModal }, _('Cancel')), ' ',
					E('button', {
						'class': 'cbi-button cbi-button-positive important',
						'click': ui.createHandlerFn(this, 'handleAddSave', m, data)
					}, _('Save'))
				])
			]);
		});
	},

	handleAddSave(m, data) {
		return m.save(null, true).then(() => {
			const n = data.node,
			    bad = logic.validateNode(n);
			if (bad.length)
				throw new Error(bad[0].option + ': ' + bad[0].message);
			return callNodeAdd(n.name, logic.normalizeSerial(n.serial), logic.normalizeMac(n.mac),
				n.model, n.boot_id, n.boot_id == 'custom' ? n.boot_dir : '', n.ip || '', n.volume_size || '');
		}).then((res) => {
			logic.checkReply(res, 'node');
			ui.hideModal();
			widgets.notify(_('Node %s added. It boots once it is provisioned from an image (Nodes → Provision).').format(res.node.name), 'info');
			return this.refresh();
		}).catch((err) => {
			widgets.notify(err
				? _('Could not add the node: %s').format(logic.describeError(err))
				: _('Some values are invalid; see the highlighted fields.'), 'error');
		});
	},

	handlePage(step) {
		this.offset = Math.max(0, this.offset + step * PAGE);
		return this.refresh();
	},

	handleFilter(ev) {
		this.filter = ev.target.value.trim();
		this.offset = 0;
		return this.refresh();
	},

	refresh() {
		return this.load().then((data) => this.fill(data));
	},

	fill(data) {
		const status = data[0] || {},
		    root = this.root;
		dom.content(root.querySelector('#rpinet-status-error'), status.error
			? E('div', { 'class': 'alert-message warning' }, widgets.text(_('rpinet status failed: %s').format(status.error))) : '');
		dom.content(root.querySelector('#rpinet-health-box'), this.renderHealth(status));
		dom.content(root.querySelector('#rpinet-summary-box'), status.error ? '' : this.renderSummary(status));
		dom.content(root.querySelector('#rpinet-nodes-box'), this.renderNodes(status));
		dom.content(root.querySelector('#rpinet-discovered-box'), this.renderDiscovered(status, data[1]));
	},

	render(data) {
		return access.canCall('node_add').then((ok) => {
			this.writable = ok;
			return this.renderPage(data);
		});
	},

	renderPage(data) {
		const writable = this.writable;

		this.root = E('div', { 'id': 'rpinet-overview' }, [
			E('h2', {}, _('Raspberry Pi netboot')),
			E('div', { 'class': 'cbi-map-descr' },
				_('This router network-boots a cluster of Raspberry Pis: it hands out their addresses, serves their boot files over TFTP and their root filesystems over NFS from the SSD.')),
			writable ? '' : E('div', { 'class': 'alert-message notice', 'id': 'rpinet-readonly' },
				_('You have read-only access: you can watch the cluster but not add, change or remove anything.')),
			E('div', { 'id': 'rpinet-status-error' }),
			E('div', { 'class': 'cbi-section' }, [
				E('h3', {}, _('Services')),
				E('div', { 'id': 'rpinet-health-box' })
			]),
			E('h3', {}, _('Nodes')),
			E('div', { 'id': 'rpinet-summary-box' }),
			E('div', { 'class': 'cbi-section-create' }, [
				E('input', {
					'type': 'search', 'id': 'rpinet-filter', 'class': 'cbi-input-text',
					'placeholder': _('Filter nodes'),
					'title': _('Shows the nodes whose name, serial, MAC or address contains this text'),
					'change': ui.createHandlerFn(this, 'handleFilter')
				})
			]),
			E('div', { 'id': 'rpinet-nodes-box' }),
			E('div', { 'class': 'cbi-section' }, [
				E('h3', {}, _('Discovered Pis')),
				E('div', { 'class': 'cbi-section-descr' },
					_('Raspberry Pis that asked for a network boot but are not nodes yet.')),
				E('div', { 'id': 'rpinet-discovered-box' })
			])
		]);

		this.fill(data);
		poll.add(() => this.refresh(), 5);

		return this.root;
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
