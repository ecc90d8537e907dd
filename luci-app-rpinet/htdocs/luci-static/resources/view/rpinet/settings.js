'use strict';
'require view';
'require rpc';
'require uci';
'require form';
'require rpinet.logic as logic';

/*
 * Services → Raspberry Pi netboot → Settings: the `config rpinet 'main'` section (SSD,
 * network, DHCP mode, which clients get boot options) and, per node, the EEPROM settings
 * the Pi needs, ready to paste into `rpi-eeprom-config --edit`.
 */

var callBlockInfo = rpc.declare({
	object: 'block',
	method: 'info',
	expect: { devices: [] }
});

var callStatus = rpc.declare({
	object: 'rpinet',
	method: 'status',
	expect: { '': {} }
});

return view.extend({
	load: function() {
		return Promise.all([
			callBlockInfo(),
			callStatus(),
			uci.load('rpinet'),
			uci.load('network')
		]);
	},

	renderEeprom: function(status) {
		var main = uci.get('rpinet', 'main') || {},
		    ctx = {
			dhcp_mode: main.dhcp_mode || 'server',
			server_ip: main.server_ip || status.server_ip || ''
		    },
		    nodes = uci.sections('rpinet', 'node');

		return E('div', { 'class': 'cbi-section', 'id': 'rpinet-eeprom' }, [
			E('h3', {}, _('Pi bootloader (EEPROM) settings')),
			E('div', { 'class': 'cbi-section-descr' }, [
				_('On each Pi 4 or 5, run'), ' ', E('code', {}, 'sudo rpi-eeprom-config --edit'), ', ',
				_('add the lines below, save and reboot. On the router,'), ' ', E('code', {}, 'rpinet node show NAME'), ' ',
				_('prints the same.')
			]),
			E('ul', {}, logic.serialHelp().map(function(h) {
				return E('li', {}, [ h.text, h.code ? [ ' ', E('code', {}, h.code) ] : '' ]);
			})),
			nodes.length ? '' : E('em', {}, _('No nodes yet.'))
		].concat(nodes.map(function(s) {
			var node = {
				name: s['.name'],
				model: s.model || 'pi4',
				boot_id: s.boot_id || 'serial',
				boot_dir: s.boot_dir || ''
			    },
			    ee = logic.eeprom(node, ctx);

			return E('div', { 'class': 'cbi-value', 'data-node': node.name }, [
				E('label', { 'class': 'cbi-value-title' }, [ E('strong', {}, node.name), E('br'), E('small', {}, logic.modelTitle(node.model)) ]),
				E('div', { 'class': 'cbi-value-field' }, [
					ee.applicable ? E('pre', { 'class': 'command-output', 'style': 'user-select:all;margin:0' }, ee.text) : '',
					ee.notes.map(function(n) { return E('div', { 'class': 'cbi-value-description' }, n); })
				])
			]);
		})));
	},

	render: function(data) {
		var devices = data[0], status = data[1] || {}, m, s, o;

		m = new form.Map('rpinet', _('Raspberry Pi netboot settings'),
			_('Where the node files live and how the Pis find this router.'));

		s = m.section(form.NamedSection, 'main', 'rpinet', _('General settings'));
		s.addremove = false;

		o = s.option(form.Flag, 'enabled', _('Enable'));
		o.default = '1';
		o.rmempty = false;

		o = s.option(form.ListValue, 'storage_uuid', _('Storage filesystem'),
			_('The SSD that holds the images and every node\'s files. Nothing is written unless this filesystem is mounted at the storage path, so the router\'s own flash never fills up.'));
		var choices = logic.blockChoices(devices),
		    current = uci.get('rpinet', 'main', 'storage_uuid');
		choices.forEach(function(c) { o.value(c.value, c.label); });
		if (current && !choices.some(function(c) { return c.value == current; }))
			o.value(current, _('%s (not connected)').format(current));
		o.rmempty = false;

		o = s.option(form.Value, 'storage_path', _('Storage path'), _('Where that filesystem is mounted (System → Mount Points).'));
		o.placeholder = '/mnt/rpinet';
		o.rmempty = false;
		o.validate = function(sid, v) {
			return /^\/[A-Za-z0-9._/-]*$/.test(v) && !/(^|\/)\.\.(\/|$)/.test(v) ? true
				: _('Expecting an absolute path such as /mnt/rpinet');
		};

		o = s.option(form.ListValue, 'interface', _('Interface'), _('The network the Pis are plugged into; the server address is its IPv4 address.'));
		uci.sections('network', 'interface').forEach(function(i) {
			if (i['.name'] != 'loopback')
				o.value(i['.name'], i.ipaddr ? '%s (%s)'.format(i['.name'], i.ipaddr) : i['.name']);
		});
		o.default = 'lan';

		o = s.option(form.Value, 'server_ip', _('Server address'), _('Optional override of the interface address the Pis are sent to.'));
		o.placeholder = status.server_ip || '';
		o.validate = function(sid, v) { return logic.validateIPv4(v, true); };

		o = s.option(form.ListValue, 'dhcp_mode', _('DHCP mode'));
		o.value('server', _('This router leases the addresses'));
		o.value('proxy', _('Another DHCP server leases; only add boot options (proxy DHCP)'));
		o.default = 'server';

		o = s.option(form.ListValue, 'match', _('Boot options for'));
		o.value('registered', _('Registered nodes only'));
		o.value('any-pi', _('Any Raspberry Pi'));
		o.default = 'registered';

		return m.render().then(L.bind(function(mapEl) {
			return E('div', {}, [ mapEl, this.renderEeprom(status) ]);
		}, this));
	}
});
