'use strict';
'require view';
'require dom';
'require poll';
'require rpc';
'require uci';
'require ui';
'require form';
'require rpinet.logic as logic';
'require rpinet.widgets as widgets';
'require rpinet.access as access';
'require rpinet.actions as actions';

/*
 * Services → Raspberry Pi netboot → Overview: storage, dnsmasq and NFS health, the cluster
 * in one line (how many nodes run, boot, are degraded or failed …), then one table row per
 * node — its state, boot stage and why it stopped, image, address and time to running —
 * sorted by any column, filtered by state, image and text, a page at a time; Details opens
 * a node's boot stage by stage, its EEPROM settings and actions. Below, the Pis seen on the
 * network that are not nodes yet. Refreshes itself every 5 seconds.
 *
 * The table holds every node with every field (rpinet.actions' allStatus), so that sorting
 * and filtering cover the whole cluster; only one page of rows is drawn.
 */

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

/* the columns: sort key, title, what the title's tooltip says */
const COLUMNS = [
	[ 'name', _('Node') ],
	[ 'state', _('State') ],
	[ 'stage', _('Boot stage') ],
	[ 'image', _('Image') ],
	[ 'address', _('Address') ],
	[ 'time', _('Time to running') ]
];

/* Text from outside (rpinet's replies) goes in as a text node, never as markup. */
return view.extend({
	/* what the table shows: filters, sort, page */
	query: { state: '', image: '', text: '', sort: 'name', desc: false, page: 0, size: widgets.pageSize() },

	load() {
		return Promise.all([ actions.allStatus(), L.resolveDefault(callDiscovered(), []), L.resolveDefault(uci.load('rpinet'), null) ]);
	},

	/* whether this login may add and provision nodes, asked once before the first render */
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
				E('td', { 'class': 'td', 'data-title': _('Details') }, widgets.text(logic.plainText(h.message)))
			]))
		]);
	},

	renderSummary(status) {
		const n = logic.summary(status);
		return E('p', { 'id': 'rpinet-summary' }, [
			E('strong', {}, logic.fmt(N_(n.total, '%d node', '%d nodes'), n.total)), ': ',
			...logic.summaryParts(n).flatMap((p) => [ widgets.label(p.look, p.text, { 'data-count': p.key }), ' ' ])
		]);
	},

	setQuery(q) {
		Object.assign(this.query, q, ('page' in q) ? {} : { page: 0 });
		this.drawTable();
	},

	handleSort(key) {
		this.setQuery({ sort: key, desc: (this.query.sort == key) ? !this.query.desc : false });
	},

	/* one row: state, the stage and why it stopped, image, address, time to running, Details */
	renderRow(r) {
		return E('tr', { 'class': 'tr', 'data-node': r.name, 'data-state': r.state }, [
			E('td', { 'class': 'td', 'data-title': _('Node') }, E('strong', {}, widgets.text(r.name))),
			E('td', { 'class': 'td', 'data-title': _('State') }, widgets.label(r.look, r.stateText)),
			E('td', { 'class': 'td', 'data-title': _('Boot stage'), 'style': widgets.WRAP }, [
				E('span', {}, widgets.text(r.stageTitle)),
				r.reason ? E('div', { 'class': 'cbi-value-description rpinet-reason' }, widgets.text(r.reason)) : ''
			]),
			E('td', { 'class': 'td', 'data-title': _('Image'), 'style': 'white-space:nowrap' }, r.image ? widgets.text(r.image) : E('em', {}, _('none'))),
			E('td', { 'class': 'td', 'data-title': _('Address') }, r.address ? E('code', {}, widgets.text(r.address)) : E('em', {}, _('none yet'))),
			E('td', { 'class': 'td', 'data-title': _('Time to running') }, r.timeText ? widgets.text(r.timeText) : E('em', {}, _('none yet'))),
			E('td', { 'class': 'td cbi-section-actions' }, E('button', {
				'class': 'cbi-button cbi-button-edit', 'data-details': r.name,
				'click': ui.createHandlerFn(this, 'handleDetails', r.name)
			}, _('Details')))
		]);
	},

	drawTable() {
		const box = this.root && this.root.querySelector('#rpinet-nodes-box');
		if (!box)
			return;
		const v = logic.tableView(this.rows || [], this.query), q = this.query;
		this.query.page = v.page;

		if (!v.total) {
			dom.content(box, E('em', {}, _('No nodes yet. Add a discovered Pi below, or add one under Nodes.')));
			return;
		}

		const head = E('tr', { 'class': 'tr table-titles' }, COLUMNS.map((c) => E('th', {
			'class': 'th', 'data-sort': c[0],
			'aria-sort': (q.sort == c[0]) ? (q.desc ? 'descending' : 'ascending') : null,
			'style': 'cursor:pointer;white-space:nowrap',
			'title': _('Sort by this column'),
			'click': () => this.handleSort(c[0])
		}, [ c[1], (q.sort == c[0]) ? (q.desc ? ' ▾' : ' ▴') : '' ])).concat([ E('th', { 'class': 'th cbi-section-actions' }, '') ]));

		dom.content(box, [
			E('table', { 'class': 'table cbi-section-table', 'id': 'rpinet-nodes' }, [ head ].concat(v.rows.length
				? v.rows.map((r) => this.renderRow(r))
				: [ E('tr', { 'class': 'tr placeholder' }, E('td', { 'class': 'td' }, E('em', {}, _('No node matches the filter.')))) ])),
			widgets.pager(v, q.size, (p) => this.setQuery(p))
		]);
	},

	/* a node's details in LuCI's modal, from the entry the table holds */
	handleDetails(name) {
		const node = (this.status && Array.isArray(this.status.nodes) ? this.status.nodes : []).find((n) => n.name == name);
		if (!node)
			return;
		actions.showDetails(node, { status: this.status, writable: this.writable, onChange: () => this.refresh() });
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

	refresh() {
		return this.load().then((data) => this.fill(data));
	},

	fill(data) {
		const status = data[0] || {},
		    root = this.root;
		this.status = status;
		this.rows = (Array.isArray(status.nodes) ? status.nodes : []).map((n) => logic.nodeRow(n, now()));
		dom.content(root.querySelector('#rpinet-status-error'), status.error
			? widgets.error(logic.fmt(_('rpinet status failed: %s'), status.error), 'warning') : '');
		dom.content(root.querySelector('#rpinet-health-box'), this.renderHealth(status));
		dom.content(root.querySelector('#rpinet-summary-box'), status.error ? '' : this.renderSummary(status));
		const box = root.querySelector('#rpinet-filters-box'),
		    bar = this.filters.render(this.rows);
		if (box.firstChild !== bar)
			dom.content(box, bar);
		this.drawTable();
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

		this.filters = widgets.filterBar(this.query, (q) => this.setQuery(q));
		this.root = E('div', { 'id': 'rpinet-overview' }, [
			E('h2', {}, _('Raspberry Pi netboot')),
			E('div', { 'class': 'cbi-map-descr' },
				_('This router network-boots a cluster of Raspberry Pis: it hands out their addresses, serves their boot files over TFTP and their root filesystems over NFS, from an SSD on the router or from an NFS server.')),
			writable ? '' : E('div', { 'class': 'alert-message notice', 'id': 'rpinet-readonly' },
				_('You have read-only access: you can watch the cluster but not add, change or remove anything.')),
			E('div', { 'id': 'rpinet-status-error' }),
			E('div', { 'class': 'cbi-section' }, [
				E('h3', {}, _('Services')),
				E('div', { 'id': 'rpinet-health-box' })
			]),
			E('div', { 'class': 'cbi-section' }, [
				E('h3', {}, _('Nodes')),
				E('div', { 'id': 'rpinet-summary-box' }),
				E('div', { 'id': 'rpinet-filters-box' }),
				E('div', { 'id': 'rpinet-nodes-box' })
			]),
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
