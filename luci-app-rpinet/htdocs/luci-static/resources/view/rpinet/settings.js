'use strict';
'require view';
'require dom';
'require rpc';
'require uci';
'require form';
'require ui';
'require rpinet.logic as logic';
'require rpinet.widgets as widgets';

/*
 * Services → Raspberry Pi netboot → Settings: the `config rpinet 'main'` section in tabs —
 * storage (an SSD on the router, or a directory an NFS server exports, with what that server
 * must export to paste there), boot network (interface, server address, DHCP mode, which clients get
 * boot options), images (how a node's root is made from its image, the Raspberry Pi OS
 * list), fleet (SSH keys, container volumes, rolls) and advanced (exports) — and, per node,
 * the EEPROM settings the Pi needs. The SSD list comes from blockd (`block info`), which only
 * routers with block-mount have: without it the page says so and takes a UUID typed in.
 * Fields that hold UUIDs, paths, addresses and keys are as wide as what they hold.
 */

const callBlockInfo = rpc.declare({
	object: 'block',
	method: 'info',
	expect: { devices: [] }
});

const callStorageExports = rpc.declare({
	object: 'rpinet',
	method: 'storage_exports'
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
				_('add the lines below, save and reboot the Pi. Each node\'s Details on the Overview show them too.')
			]),
			/* one flat child list per item: LuCI's E() prints a nested array as text */
			E('ul', {}, logic.serialHelp().map((h) =>
				E('li', {}, h.code ? [ h.text, ' ', E('code', {}, widgets.text(h.code)) ] : [ h.text ]))),
			nodes.length ? '' : E('em', {}, _('No nodes yet.')),
			/* one entry per distinct setting: a cluster's Pis mostly share one */
			...logic.eepromGroups(nodes, ctx).map((g) => E('div', { 'class': 'cbi-value', 'data-nodes': g.nodes.join(' ') }, [
				E('label', { 'class': 'cbi-value-title', 'style': widgets.WRAP }, [
					E('strong', {}, logic.fmt(N_(g.nodes.length, '%d node', '%d nodes'), g.nodes.length)), E('br'),
					E('small', {}, widgets.text(logic.nameList(g.nodes, 6)))
				]),
				E('div', { 'class': 'cbi-value-field' }, [
					g.applicable ? E('pre', { 'class': 'command-output', 'style': 'user-select:all;margin:0' }, widgets.text(g.text)) : '',
					...g.notes.map((n) => E('div', { 'class': 'cbi-value-description' }, widgets.text(n)))
				])
			]))
		]);
	},

	/*
	 * What the NFS server must export, as rpinet says it for the applied config: a block to
	 * select and copy whole, or one sentence why not. Copying changes nothing, so a read-only
	 * user may do it too.
	 */
	renderExports() {
		const out = E('div', {}, E('em', {}, _('Asking rpinet…'))),
		    copy = E('button', { 'class': 'cbi-button cbi-button-action', 'data-copy': 'exports', 'disabled': true }, _('Copy'));
		const show = () => callStorageExports().then((res) => {
			const err = logic.replyError(res) || ((typeof(res.exports) != 'string') ? logic.fmt(_('rpinet answered without "%s".'), 'exports') : null);
			copy.disabled = !!err;
			if (err)
				return dom.content(out, widgets.error(err, 'warning'));
			const pre = E('pre', { 'class': 'command-output', 'style': 'white-space:pre;overflow-x:auto;max-width:100%;user-select:all;margin:0 0 .5em' }, widgets.text(res.exports));
			copy.onclick = ui.createHandlerFn(this, 'handleCopy', pre);
			dom.content(out, pre);
		}).catch((e) => {
			copy.disabled = true;
			dom.content(out, widgets.error(logic.describeError(e), 'warning'));
		});
		show();
		return E('div', { 'id': 'rpinet-exports' }, [
			out,
			E('div', {}, [ copy, ' ', E('button', { 'class': 'cbi-button', 'data-refresh': 'exports', 'click': ui.createHandlerFn(this, show) }, _('Refresh')) ])
		]);
	},

	/* the block's text to the clipboard: the Clipboard API where the page may use it (HTTPS), else the selection and the browser's copy */
	handleCopy(pre) {
		const text = pre.textContent, range = document.createRange(), sel = window.getSelection();
		range.selectNodeContents(pre);
		sel.removeAllRanges();
		sel.addRange(range);
		/* false where the browser does not copy; the text stays selected */
		const byCommand = () => document.execCommand('copy');
		const api = (navigator.clipboard && window.isSecureContext) ? navigator.clipboard.writeText(text).then(() => true, byCommand) : Promise.resolve(byCommand());
		return api.then((ok) => widgets.notify(ok ? _('Copied. Paste it on the NFS server: into /etc/exports on Linux, or as the share\'s settings on an appliance.')
			: _('The text is selected: copy it with Ctrl+C (⌘C on a Mac).')));
	},

	render([ devices, status ]) {
		const m = new form.Map('rpinet', _('Raspberry Pi netboot settings'),
			_('Where the node files live and how the Pis find this router.'));
		let o;

		const s = m.section(form.NamedSection, 'main', 'rpinet', _('General settings'));
		s.addremove = false;
		s.tab('storage', _('Storage'), _('Where the images and every node\'s files live: an SSD on the router, or a directory an NFS server exports. Nothing is written unless that storage is mounted at the storage path, so the router\'s own flash never fills up.'));
		s.tab('network', _('Boot network'), _('Where the Pis boot and who answers them.'));
		s.tab('images', _('Images'), _('How a node\'s root is made from its image, and the list of images the Images page offers.'));
		s.tab('fleet', _('Fleet'), _('What every node gets when it is provisioned, and how image rolls go.'));
		s.tab('advanced', _('Advanced'));

		o = s.taboption('storage', form.Flag, 'enabled', _('Enable'), _('Off: rpinet takes back its dnsmasq and NFS settings; nothing in the storage is touched.'));
		o.default = '1';
		o.rmempty = false;

		/* not an option of rpinet's: which of storage_uuid or storage_server + storage_export the form shows, and so keeps */
		o = s.taboption('storage', form.ListValue, '_storage', _('Storage'),
			_('An NFS server: a NAS or another Linux machine holds the files; rpinet mounts its export at the storage path. Its nodes\' roots are private copies.'));
		o.value('ssd', _('The router\'s SSD'));
		o.value('server', _('An NFS server'));
		o.load = () => (uci.get('rpinet', 'main', 'storage_server') ? 'server' : 'ssd');
		o.write = () => {};
		o.remove = () => {};

		const current = uci.get('rpinet', 'main', 'storage_uuid'),
		    choices = logic.blockChoices(devices || []);
		if (devices == null) {
			/* no blockd: the UUID is typed (another router's disk page or blkid prints it) */
			o = s.taboption('storage', form.Value, 'storage_uuid', _('Storage filesystem UUID'),
				_('The UUID of the SSD\'s filesystem. To pick it from a list instead, install the block-mount package (System → Software).'));
			o.validate = (sid, v) => /^[0-9A-Fa-f-]{4,36}$/.test(v) ? true : _('A filesystem UUID such as 6a1f3c2e-9b7d-4e21-8f0a-2d5c7e9b1a44');
		}
		else {
			o = s.taboption('storage', form.ListValue, 'storage_uuid', _('Storage filesystem'),
				_('The SSD (every disk is listed under Disks below).'));
			choices.forEach((c) => o.value(c.value, c.label));
			if (current && !choices.some((c) => c.value == current))
				o.value(current, _('%s (not connected)').format(current));
		}
		o.rmempty = false;
		o.depends('_storage', 'ssd');

		o = s.taboption('storage', form.Value, 'storage_server', _('NFS server'), _('Its IPv4 address, or a host name this router resolves (e.g. nas.lan).'));
		o.placeholder = '192.168.1.10';
		o.rmempty = false;
		o.depends('_storage', 'server');
		o.validate = (sid, v) => logic.validateStorageServer(v);

		o = s.taboption('storage', form.Value, 'storage_export', _('Exported directory'), _('The directory on the server that holds rpinet\'s files, as the server exports it.'));
		o.placeholder = '/mnt/tank/rpinet';
		o.rmempty = false;
		o.depends('_storage', 'server');
		o.validate = (sid, v) => logic.validateStorageExport(v);

		o = s.taboption('storage', form.Value, 'storage_path', _('Storage path'), _('Where that storage is mounted on the router: the SSD under System → Mount Points; an NFS server\'s export by rpinet itself.'));
		o.placeholder = '/mnt/rpinet';
		o.rmempty = false;
		o.validate = (sid, v) => /^\/[A-Za-z0-9._/-]*$/.test(v) && !/(^|\/)\.\.(\/|$)/.test(v) ? true
			: _('Expecting an absolute path such as /mnt/rpinet');

		o = s.taboption('storage', form.DummyValue, '_exports', _('What the NFS server must export'),
			_('Paste this on the server: the lines into its /etc/exports (Linux), or the settings in the comments into the share of a NAS. rpinet says it for the settings as applied; after Save & Apply, Refresh asks again.'));
		o.depends('_storage', 'server');
		/* drawn again after each Save: asks rpinet once the form holds a server */
		o.renderWidget = () => (uci.get('rpinet', 'main', 'storage_server') ? this.renderExports()
			: E('em', { 'id': 'rpinet-exports' }, _('Save & Apply the server and its directory first; then what the server must export appears here.')));

		o = s.taboption('network', form.ListValue, 'interface', _('Interface'), _('The network the Pis are plugged into; the server address is its IPv4 address.'));
		uci.sections('network', 'interface').forEach((i) => {
			if (i['.name'] != 'loopback')
				o.value(i['.name'], i.ipaddr ? '%s (%s)'.format(i['.name'], i.ipaddr) : i['.name']);
		});
		o.default = 'lan';

		o = s.taboption('network', form.Value, 'server_ip', _('Server address'), _('Optional override of the interface address the Pis are sent to.'));
		o.placeholder = status.server_ip || '';
		o.validate = (sid, v) => logic.validateIPv4(v, true);

		o = s.taboption('network', form.ListValue, 'dhcp_mode', _('DHCP mode'),
			_('Server: this router leases the Pis their addresses. Proxy: another DHCP server on the network leases them; this router only adds the boot options.'));
		o.value('server', _('Server'));
		o.value('proxy', _('Proxy DHCP'));
		o.default = 'server';

		o = s.taboption('network', form.ListValue, 'match', _('Boot options for'));
		o.value('registered', _('Registered nodes'));
		o.value('any-pi', _('Any Raspberry Pi'));
		o.default = 'registered';

		o = s.taboption('images', form.ListValue, 'root_mode', _('Node roots'),
			_('Shared: a node\'s root is its image\'s root, read-only, with the node\'s own changes in an overlay on the router: provisioned in a second, one copy for many nodes. Copy: each node gets a private full copy. A node\'s Edit can choose otherwise; it takes effect at its next provision.'));
		o.value('shared', _('Shared (overlay on the image)'));
		o.value('copy', _('Copy (a private full copy)'));
		o.default = 'shared';
		o.depends('_storage', 'ssd');

		/* rpinet refuses 'shared' with storage on an NFS server: its roots are copies, the option's default there */
		o = s.taboption('images', form.DummyValue, '_root_mode_server', _('Node roots'),
			_('With the storage on an NFS server every node gets a private full copy of its image\'s root: a shared root keeps the node\'s changes in an overlay, and an overlay cannot keep them on NFS.'));
		o.default = _('Copy (a private full copy)');
		o.depends('_storage', 'server');

		o = s.taboption('images', form.Value, 'catalog_url', _('Raspberry Pi OS list'),
			_('The JSON list of images the Images page offers, in Raspberry Pi Imager\'s format. Empty: Raspberry Pi\'s own list.'));
		o.placeholder = 'https://downloads.raspberrypi.com/os_list_imagingutility_v4.json';
		o.validate = (sid, v) => (v == '' ? true : logic.validateUrl(v));

		o = s.taboption('fleet', form.DynamicList, 'ssh_key', _('SSH keys'),
			_('OpenSSH public keys that may log in to every node as its first user, one key an entry (Ed25519, RSA, ECDSA or security keys). Installed when a node is provisioned; a node\'s own keys are under its Edit on the Nodes page.'));
		o.validate = (sid, v) => (v == '' ? true : logic.validateSshKey(v));

		o = s.taboption('fleet', form.Value, 'volume_size', _('Container volume'),
			_('The default size of each node\'s disk for /var/lib/rpinet-volume, where k3s, containerd or Docker keep their data (they cannot on NFS), e.g. 32G. Empty: no volume.'));
		o.validate = (sid, v) => logic.validateVolumeSize(v);

		o = s.taboption('fleet', form.Value, 'roll_batch', _('Roll, nodes at a time'),
			_('How many nodes an image roll reimages at once (1 to 64); the next batch starts when these are running.'));
		o.placeholder = '2';
		o.validate = (sid, v) => logic.validateRollBatch(v);

		o = s.taboption('advanced', form.Flag, 'export_subnet', _('Export to the subnet'),
			_('Off: each node\'s root is exported to that node\'s reserved address only. On: to the whole subnet, as before reservations (Diagnostics warns about it).'));
		o.default = '0';

		/* UUIDs, paths, addresses and keys are read whole, not cut at the theme's 210 px */
		s.children.filter((c) => [ 'storage_uuid', 'storage_server', 'storage_export', 'storage_path', 'catalog_url', 'ssh_key' ].includes(c.option)).forEach((c) => widgets.wide(c));

		return m.render().then((mapEl) => {
			return E('div', {}, [
				/* an NFS server needs no blockd; the UUID field says it again when the SSD is chosen */
				(devices == null && !uci.get('rpinet', 'main', 'storage_server')) ? E('div', { 'class': 'alert-message warning', 'id': 'rpinet-no-blockd' },
					_('blockd is not running on this router (package block-mount), so the disks cannot be listed. Everything else works; install block-mount (System → Software) for the disk list and for mounting the SSD by UUID at boot.')) : '',
				mapEl,
				devices == null ? '' : E('div', { 'class': 'cbi-section', 'id': 'rpinet-disks' }, [
					E('h3', {}, _('Disks')),
					E('ul', { 'style': widgets.WRAP }, choices.map((c) => E('li', {}, widgets.text(c.detail))))
				]),
				this.renderEeprom(status)
			]);
		});
	}
});
