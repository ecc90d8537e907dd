'use strict';
'require view';
'require dom';
'require poll';
'require rpc';
'require ui';
'require form';
'require rpinet.logic as logic';

/*
 * Services → Raspberry Pi netboot → Overview: storage, dnsmasq and NFS health, one card per
 * node with its boot timeline, and the Pis seen on the network that are not nodes yet.
 * Refreshes itself every 5 seconds.
 */

var callStatus = rpc.declare({
	object: 'rpinet',
	method: 'status',
	expect: { '': {} }
});

var callDiscovered = rpc.declare({
	object: 'rpinet',
	method: 'discovered',
	expect: { discovered: [] }
});

var callNodeAdd = rpc.declare({
	object: 'rpinet',
	method: 'node_add',
	params: [ 'name', 'serial', 'mac', 'model', 'boot_id', 'boot_dir', 'ip' ]
});

/* A failed status call (rpinet not installed, rpcd down) shows as a message, not a dead page. */
function getStatus() {
	return callStatus().catch(function(e) { return { error: e.message || String(e) }; });
}

function getDiscovered() {
	return callDiscovered().catch(function() { return []; });
}

function now() {
	return Math.floor(Date.now() / 1000);
}

return view.extend({
	load: function() {
		return Promise.all([ getStatus(), getDiscovered() ]);
	},

	renderHealth: function(status) {
		return E('table', { 'class': 'table', 'id': 'rpinet-health' }, [
			E('tr', { 'class': 'tr table-titles' }, [
				E('th', { 'class': 'th' }, _('Service')),
				E('th', { 'class': 'th' }, _('State')),
				E('th', { 'class': 'th' }, _('Details'))
			])
		].concat(logic.healthRows(status).map(function(h) {
			return E('tr', { 'class': 'tr', 'data-health': h.key }, [
				E('td', { 'class': 'td', 'data-title': _('Service') }, E('strong', {}, h.title)),
				E('td', { 'class': 'td', 'data-title': _('State') },
					E('span', { 'class': 'label ' + (h.ok ? 'success' : 'important') }, h.state)),
				E('td', { 'class': 'td', 'data-title': _('Details') }, h.message)
			]);
		})));
	},

	renderTimeline: function(steps) {
		var marks = { done: '✔', failed: '✘', pending: '○' };
		return E('ol', { 'class': 'rpinet-timeline', 'style': 'display:flex;flex-wrap:wrap;gap:.4em;list-style:none;margin:.5em 0;padding:0' },
			steps.map(function(s, i) {
				var cls = (s.state == 'done') ? 'success' : (s.state == 'failed') ? 'important' : 'notice';
				return E('li', {
					'data-stage': s.stage,
					'data-state': s.state,
					'title': [ s.time, s.detail ].filter(function(x) { return x; }).join(' — ')
				}, [
					(i > 0) ? E('span', { 'aria-hidden': 'true', 'style': 'margin-right:.4em' }, '→') : '',
					E('span', { 'class': 'label ' + cls }, marks[s.state] + ' ' + s.title)
				]);
			}));
	},

	renderNodeCard: function(node) {
		var c = logic.nodeCard(node, now()),
		    rows = [
			[ _('Model'), c.model ],
			[ _('Address'), c.address || E('em', {}, _('none yet')) ],
			[ _('Last boot'), c.lastBootTime ? E('span', { 'title': c.lastBootTime }, c.lastBoot) : c.lastBoot ],
			[ _('Boot directory'), E('code', {}, c.bootDir) ],
			[ _('Image'), c.image || E('em', {}, _('not provisioned')) ]
		    ];

		return E('div', { 'class': 'cbi-section rpinet-node', 'data-node': c.name }, [
			E('h3', {}, [
				c.name, ' ',
				E('span', { 'class': 'label ' + (c.badge.level == 'error' ? 'important' : c.badge.level) }, c.badge.text)
			]),
			this.renderTimeline(c.steps),
			c.error ? E('div', { 'class': 'alert-message error rpinet-error' }, [
				E('strong', {}, _('First problem:')), ' ', c.error
			]) : '',
			E('table', { 'class': 'table' }, rows.map(function(r) {
				return E('tr', { 'class': 'tr' }, [
					E('td', { 'class': 'td left', 'width': '33%' }, r[0]),
					E('td', { 'class': 'td left' }, r[1])
				]);
			}))
		]);
	},

	renderNodes: function(status) {
		var nodes = Array.isArray(status.nodes) ? status.nodes : [];
		if (!nodes.length)
			return E('div', { 'class': 'cbi-section' },
				E('em', {}, _('No nodes yet. Add a discovered Pi below, or add one under Nodes.')));
		return E('div', { 'id': 'rpinet-nodes' }, nodes.map(L.bind(this.renderNodeCard, this)));
	},

	renderDiscovered: function(status, discovered) {
		var rows = logic.discoveredRows(discovered, status.nodes, now());

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
			])
		].concat(rows.map(L.bind(function(r) {
			return E('tr', { 'class': 'tr', 'data-mac': r.mac }, [
				E('td', { 'class': 'td', 'data-title': _('MAC address') }, E('code', {}, r.mac)),
				E('td', { 'class': 'td', 'data-title': _('Serial') }, r.serial ? E('code', {}, r.serial) : E('em', {}, _('unknown'))),
				E('td', { 'class': 'td', 'data-title': _('Model') }, r.model),
				E('td', { 'class': 'td', 'data-title': _('IPv4 address') }, r.ip),
				E('td', { 'class': 'td', 'data-title': _('Last seen') }, r.lastSeen),
				E('td', { 'class': 'td cbi-section-actions' },
					E('button', {
						'class': 'cbi-button cbi-button-add',
						'click': ui.createHandlerFn(this, 'handleAddNode', r.prefill)
					}, _('Add')))
			]);
		}, this))));
	},

	/* The node form, prefilled from a discovered Pi, in a modal; Save calls node_add. */
	handleAddNode: function(prefill) {
		var data = { node: Object.assign({ ip: '', boot_dir: '' }, prefill) },
		    m = new form.JSONMap(data, null, null),
		    s = m.section(form.NamedSection, 'node', 'node'),
		    o;

		o = s.option(form.Value, 'name', _('Name'), _('Lower-case letters, digits and _; the hostname uses - for _.'));
		o.rmempty = false;
		o.validate = function(sid, v) { return logic.validateName(v); };

		o = s.option(form.ListValue, 'model', _('Model'));
		logic.MODELS.forEach(function(k) { o.value(k, logic.modelTitle(k)); });

		o = s.option(form.Value, 'serial', _('Serial'), _('8 hex digits, any case.'));
		o.rmempty = false;
		o.validate = function(sid, v) { return logic.validateSerial(v); };

		o = s.option(form.Value, 'mac', _('MAC address'));
		o.rmempty = false;
		o.validate = function(sid, v) { return logic.validateMac(v); };

		o = s.option(form.ListValue, 'boot_id', _('Boot directory'), _('What the Pi\'s EEPROM TFTP_PREFIX names its boot directory by.'));
		o.value('serial', _('Serial number (TFTP_PREFIX=0)'));
		o.value('mac', _('MAC address (TFTP_PREFIX=2)'));
		o.value('custom', _('Custom name (TFTP_PREFIX=1)'));

		o = s.option(form.Value, 'boot_dir', _('Custom boot directory'));
		o.depends('boot_id', 'custom');
		o.validate = function(sid, v) { return logic.validateBootDir('custom', v); };

		o = s.option(form.Value, 'ip', _('Fixed IPv4 address'), _('Optional: a DHCP reservation for this node.'));
		o.validate = function(sid, v) { return logic.validateIPv4(v, true); };

		return m.render().then(L.bind(function(nodes) {
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
		}, this));
	},

	handleAddSave: function(m, data) {
		return m.save(null, true).then(function() {
			var n = data.node,
			    bad = logic.validateNode(n);
			if (bad.length)
				throw new Error(bad[0].option + ': ' + bad[0].message);
			return callNodeAdd(n.name, logic.normalizeSerial(n.serial), logic.normalizeMac(n.mac),
				n.model, n.boot_id, n.boot_id == 'custom' ? n.boot_dir : '', n.ip || '');
		}).then(L.bind(function(res) {
			if (!res || res.error || !res.node)
				throw new Error((res && res.error) || _('node_add gave no node'));
			ui.hideModal();
			ui.addNotification(null, E('p', {}, _('Node %s added. It boots once it is provisioned from an image (Nodes → Provision).').format(res.node.name)), 'info');
			return this.refresh();
		}, this)).catch(function(err) {
			ui.addNotification(null, E('p', {}, err
				? _('Could not add the node: %s').format(err.message || err)
				: _('Some values are invalid; see the highlighted fields.')), 'error');
		});
	},

	refresh: function() {
		return Promise.all([ getStatus(), getDiscovered() ]).then(L.bind(this.fill, this));
	},

	fill: function(data) {
		var status = data[0] || {},
		    root = this.root;
		dom.content(root.querySelector('#rpinet-status-error'), status.error
			? E('div', { 'class': 'alert-message warning' }, _('rpinet status failed: %s').format(status.error)) : '');
		dom.content(root.querySelector('#rpinet-health-box'), this.renderHealth(status));
		dom.content(root.querySelector('#rpinet-nodes-box'), this.renderNodes(status));
		dom.content(root.querySelector('#rpinet-discovered-box'), this.renderDiscovered(status, data[1]));
	},

	render: function(data) {
		this.root = E('div', { 'id': 'rpinet-overview' }, [
			E('h2', {}, _('Raspberry Pi netboot')),
			E('div', { 'class': 'cbi-map-descr' },
				_('This router network-boots a cluster of Raspberry Pis: it hands out their addresses, serves their boot files over TFTP and their root filesystems over NFS from the SSD.')),
			E('div', { 'id': 'rpinet-status-error' }),
			E('div', { 'class': 'cbi-section' }, [
				E('h3', {}, _('Services')),
				E('div', { 'id': 'rpinet-health-box' })
			]),
			E('h3', {}, _('Nodes')),
			E('div', { 'id': 'rpinet-nodes-box' }),
			E('div', { 'class': 'cbi-section' }, [
				E('h3', {}, _('Discovered Pis')),
				E('div', { 'class': 'cbi-section-descr' },
					_('Raspberry Pis that asked for a network boot but are not nodes yet.')),
				E('div', { 'id': 'rpinet-discovered-box' })
			])
		]);

		this.fill(data);
		poll.add(L.bind(this.refresh, this), 5);

		return this.root;
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
