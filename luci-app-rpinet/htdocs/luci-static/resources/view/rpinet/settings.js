'use strict';
'require view';
'require rpc';
'require uci';
'require form';
'require rpinet.logic as logic';
'require rpinet.widgets as widgets';

/*
 * Services → Raspberry Pi netboot → Settings: the `config rpinet 'main'` section (SSD,
 * network, DHCP mode, which clients get boot options, container volumes, SSH keys, image
 * rolls, the Raspberry Pi OS list) and, per node, the EEPROM settings the Pi needs, ready
 * to paste into `rpi-eeprom-config --edit`. The SSD list comes from blockd (`block info`), which only
 * routers with block-mount have: without it the page says so and takes a UUID by hand.
 */

const callBlockInfo = rpc.declare({
	object: 'block',
	method: 'info',
	expect: { devices: [] }
});

const callStatus = rpc.declare({
	object: 'rpinet',
	method: 'status',
	expect: { '': {} }
});

return view.extend({
	load() {
		return Promise.all([
			/* null: no blockd on this router (block-mount not installed) */
			L.resolveDefault(callBlockInfo(), null),
			L.resolveDefault(callStatus(), {}),
			uci.load('rpinet'),
			L.resolveDefault(uci.load('network'), null)
		]);
	},

	renderEeprom(status) {
		const main = uci.get('rpinet', 'main') || {},
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
			/* one flat child list per item: LuCI's E() prints a nested array as text */
			E('ul', {}, logic.serialHelp().map((h) =>
				E('li', {}, h.code ? [ h.text, ' ', E('code', {}, widgets.text(h.code)) ] : [ h.text ]))),
			nodes.length ? '' : E('em', {}, _('No nodes yet.')),
			...nodes.map((s) => {
				const node = {
					name: s['.name'],
					model: s.model || 'pi4',
					boot_id: s.boot_id || 'serial',
					boot_dir: s.boot_dir || ''
				    },
				    ee = logic.eeprom(node, ctx);

				return E('div', { 'class': 'cbi-value', 'data-node': node.name }, [
					E('label', { 'class': 'cbi-value-title' }, [ E('strong', {}, widgets.text(node.name)), E('br'), E('small', {}, widgets.text(logic.modelTitle(node.model))) ]),
					E('div', { 'class': 'cbi-value-field' }, [
						ee.applicable ? E('pre', { 'class': 'command-output', 'style': 'user-select:all;margin:0' }, widgets.text(ee.text)) : '',
						...ee.notes.map((n) => E('div', { 'class': 'cbi-value-description' }, widgets.text(n)))
					])
				]);
			})
		]);
	},

	render([ devices, status ]) {
		const m = new form.Map('rpinet', _('Raspberry Pi netboot settings'),
			_('Where the node files live and how the Pis find this router.'));
		let o;

		const s = m.section(form.NamedSection, 'main', 'rpinet', _('General settings'));
		s.addremove = false;

		o = s.option(form.Flag, 'enabled', _('Enable'));
		o.default = '1';
		o.rmempty = false;

		const current = uci.get('rpinet', 'main', 'storage_uuid'),
		    choices = logic.blockChoices(devices || []);
		if (devices == null) {
			/* no blockd: the UUID is typed (blkid or `block info` on another router prints it) */
			o = s.option(form.Value, 'storage_uuid', _('Storage filesystem UUID'),
				_('The UUID blkid prints for the SSD. To pick it from a list instead, install block-mount (apk add block-mount or opkg install block-mount).'));
			o.validate = (sid, v) => /^[0-9A-Fa-f-]{4,36}$/.test(v) ? true : _('A filesystem UUID such as 6a1f3c2e-9b7d-4e21-8f0a-2d5c7e9b1a44');
		}
		else {
			o = s.option(form.ListValue, 'storage_uuid', _('Storage filesystem'),
				_('The SSD that holds the images and every node\'s files (the disks are listed under Disks below). Nothing is written unless this filesystem is mounted at the storage path, so the router\'s own flash never fills up.'));
			choices.forEach((c) => o.value(c.value, c.label));
			if (current && !choices.some((c) => c.value == current))
				o.value(current, _('%s (not connected)').format(current.slice(0, 8) + '…'));
		}
		o.rmempty = false;

		o = s.option(form.Value, 'storage_path', _('Storage path'), _('Where that filesystem is mounted (System → Mount Points).'));
		o.placeholder = '/mnt/rpinet';
		o.rmempty = false;
		o.validate = (sid, v) => /^\/[A-Za-z0-9._/-]*$/.test(v) && !/(^|\/)\.\.(\/|$)/.test(v) ? true
			: _('Expecting an absolute path such as /mnt/rpinet');

		o = s.option(form.ListValue, 'interface', _('Interface'), _('The network the Pis are plugged into; the server address is its IPv4 address.'));
		uci.sections('network', 'interface').forEach((i) => {
			if (i['.name'] != 'loopback')
				o.value(i['.name'], i.ipaddr ? '%s (%s)'.format(i['.name'], i.ipaddr) : i['.name']);
		});
		o.default = 'lan';

		o = s.option(form.Value, 'server_ip', _('Server address'), _('Optional override of the interface address the Pis are sent to.'));
		o.placeholder = status.server_ip || '';
		o.validate = (sid, v) => logic.validateIPv4(v, true);

		o = s.option(form.ListValue, 'dhcp_mode', _('DHCP mode'),
			_('Server: this router leases the Pis their addresses. Proxy: another DHCP server on the network leases them; this router only adds the boot options.'));
		o.value('server', _('Server'));
		o.value('proxy', _('Proxy DHCP'));
		o.default = 'server';

		o = s.option(form.ListValue, 'match', _('Boot options for'));
		o.value('registered', _('Registered nodes'));
		o.value('any-pi', _('Any Raspberry Pi'));
		o.default = 'registered';

		o = s.option(form.Flag, 'export_subnet', _('Export to the subnet'),
			_('Off: each node\'s root is exported to that node\'s reserved address only. On: to the whole subnet, as before reservations.'));
		o.default = '0';

		o = s.option(form.Value, 'volume_size', _('Container volume'),
			_('The default size of each node\'s disk for /var/lib/rpinet-volume, where k3s, containerd or Docker keep their data (they cannot on NFS), e.g. 32G. Empty: no volume.'));
		o.validate = (sid, v) => logic.validateVolumeSize(v);

		o = s.option(form.Value, 'roll_batch', _('Roll, nodes at a time'),
			_('How many nodes an image roll reimages at once (1 to 64); the next batch starts when these are up.'));
		o.placeholder = '2';
		o.validate = (sid, v) => logic.validateRollBatch(v);

		o = s.option(form.Value, 'catalog_url', _('Raspberry Pi OS list'),
			_('The JSON list of images the Images page offers, in Raspberry Pi Imager\'s format. Empty: Raspberry Pi\'s own list.'));
		o.placeholder = 'https://downloads.raspberrypi.com/os_list_imagingutility_v4.json';
		o.validate = (sid, v) => (v == '' ? true : logic.validateUrl(v));

		o = s.option(form.DynamicList, 'ssh_key', _('SSH keys'),
			_('OpenSSH public keys that may log in to every node as its first user, one key an entry (ssh-ed25519, ssh-rsa, ecdsa or security-key types). Installed when a node is provisioned; per node keys are under Nodes.'));
		o.validate = (sid, v) => (v == '' ? true : logic.validateSshKey(v));

		return m.render().then((mapEl) => E('div', {}, [
			devices == null ? E('div', { 'class': 'alert-message warning', 'id': 'rpinet-no-blockd' },
				_('blockd is not running on this router (package block-mount), so the disks cannot be listed. Everything else works; install block-mount for the disk list and for mounting the SSD by UUID at boot.')) : '',
			mapEl,
			devices == null ? '' : E('div', { 'class': 'cbi-section', 'id': 'rpinet-disks' }, [
				E('h3', {}, _('Disks')),
				E('ul', {}, choices.map((c) => E('li', {}, widgets.text(c.detail))))
			]),
			this.renderEeprom(status)
		]));
	}
});
