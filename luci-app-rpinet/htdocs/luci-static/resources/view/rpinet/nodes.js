'use strict';
'require view';
'require dom';
'require rpc';
'require uci';
'require ui';
'require form';
'require rpinet.logic as logic';
'require rpinet.widgets as widgets';
'require rpinet.access as access';
'require rpinet.actions as actions';

/*
 * Services → Raspberry Pi netboot → Nodes: a grid over the `config node` sections of
 * /etc/config/rpinet, validated as docs/SPEC.md §1 says, with Provision / Reimage per node
 * (rpinet.actions: image, first user and password, volume, new identity) and Roll back where
 * an image roll kept a root (status `kept`). Without write access (LuCI marks the map
 * read-only) every control is disabled.
 *
 * As on Overview, the grid is filtered by state, image and text and drawn a page at a time
 * (rpinet.widgets' filter bar and pager, logic.tableView): the section's cfgsections() are
 * the page's nodes, so that only they are loaded, drawn and saved.
 */

const callImages = rpc.declare({
	object: 'rpinet',
	method: 'images',
	expect: { images: [] }
});

const callNodeRemove = rpc.declare({
	object: 'rpinet',
	method: 'node_remove',
	params: [ 'name', 'purge' ]
});

return view.extend({
	load() {
		return Promise.all([ L.resolveDefault(callImages(), []), uci.load('rpinet'), access.canCall('node_provision'),
			actions.allStatus() ]);
	},

	/* whether this login may provision and roll back, asked in load() */
	canWrite: true,

	/* what the grid shows: filters and page, in name order as on Overview */
	query: { state: '', image: '', text: '', page: 0, size: widgets.pageSize() },

	writable() {
		return this.canWrite && !(this.map && this.map.readonly);
	},

	fail(what, err) {
		widgets.notify(logic.fmt('%s: %s', what, logic.describeError(err)), 'error');
	},

	/* the grid again from /etc/config/rpinet and status, after an action changed them */
	reload() {
		uci.unload('rpinet');
		return Promise.all([ uci.load('rpinet'), actions.allStatus() ]).then((res) => {
			/* the boots first: the page (and its state filter) is worked out as the map loads */
			this.setBoots(res[1]);
			return this.map.load();
		}).then(() => this.map.reset());
	},

	setBoots(status) {
		/* each node's last boot and kept root, as Overview shows them (every field: actions.allStatus) */
		this.boots = {};
		((status && Array.isArray(status.nodes)) ? status.nodes : []).forEach((n) => {
			if (n && n.name)
				this.boots[n.name] = n;
		});
	},

	/*
	 * The page of `config node` sections the grid shows, from the config as it is now and the
	 * last status (this.view is the page's logic.tableView). Worked out when the section loads,
	 * which LuCI does before it draws: from then on cfgsections() are the sections drawn, so
	 * that a save parses exactly the fields on the page.
	 */
	pageSections() {
		const rows = logic.configRows(uci.sections('rpinet', 'node'), this.boots, Date.now() / 1000);
		this.rows = rows;
		this.view = logic.tableView(rows, this.query);
		this.query.page = this.view.page;
		this.sids = this.view.rows.map((r) => r.name);
		return this.sids;
	},

	/*
	 * A filter or the page changed: what the page's fields hold goes into the config (as a
	 * save would take it, not yet saved), and the grid's table and pager are drawn again
	 * for the new page; the filter bar stays, so the text field keeps its focus.
	 */
	setQuery(q) {
		const s = this.section;
		return Promise.resolve(s.parse()).catch(() => null).then(() => {
			Object.assign(this.query, q, ('page' in q) ? {} : { page: 0 });
			return s.load();
		}).then(() => form.GridSection.prototype.render.call(s)).then((fresh) => {
			const el = this.map.root.querySelector('[data-rpinet-grid]');
			if (!el)
				return;
			el.replaceChild(fresh.querySelector('table'), el.querySelector('table'));
			dom.content(el.querySelector('#rpinet-pager-box'), widgets.pager(this.view, this.query.size, (p) => this.setQuery(p)));
			const box = el.querySelector('#rpinet-filters-box'), bar = this.filters.render(this.rows);
			if (box.firstChild !== bar)
				dom.content(box, bar);
		});
	},

	/* Delete: node_remove takes the node out of the config, DHCP and NFS, optionally with its files. */
	handleRemove(map, name) {
		const purge = new ui.Checkbox('0', { id: 'rpinet-purge' });

		ui.showModal(_('Remove node %s').format(name), [
			E('p', {}, _('The node leaves the configuration, its DHCP entry and its NFS export. It can no longer boot from this router.')),
			E('div', {}, [ purge.render(), ' ',
				E('label', { 'for': 'widget.rpinet-purge' }, _('Also delete its boot directory, root filesystem and container volume from the storage')) ]),
			E('div', { 'class': 'right' }, [
				E('button', { 'class': 'cbi-button', 'click': ui.hideModal }, _('Cancel')), ' ',
				E('button', {
					'class': 'cbi-button cbi-button-negative important',
					'click': ui.createHandlerFn(this, () => callNodeRemove(name, purge.isChecked()).then((res) => {
						logic.checkReply(res);
						ui.hideModal();
						widgets.notify(res.purged
							? _('Node %s removed, its files deleted.').format(name)
							: _('Node %s removed; its files stay in the storage.').format(name), 'info');
						return this.reload();
					}).catch((err) => {
						ui.hideModal();
						this.fail(_('Could not remove %s').format(name), err);
					}))
				}, _('Remove'))
			])
		]);
	},

	render(data) {
		const self = this;
		let o;

		this.images = Array.isArray(data[0]) ? data[0] : [];
		this.canWrite = data[2];
		this.setBoots(data[3]);

		const m = this.map = new form.Map('rpinet', _('Raspberry Pi nodes'),
			_('Each node is one Raspberry Pi that boots from this router. The serial and MAC address are on the Pi (see Settings → EEPROM); a node boots once it is provisioned from an image.'));

		const s = this.section = m.section(form.GridSection, 'node', _('Nodes'));
		this.filters = widgets.filterBar(this.query, (q) => this.setQuery(q));
		s.cfgsections = () => this.sids || this.pageSections();
		s.load = function() {
			self.pageSections();
			return form.GridSection.prototype.load.apply(this, arguments);
		};
		/* the grid as LuCI draws it, with the filter bar above its table and the pager under it */
		s.render = function() {
			return form.GridSection.prototype.render.apply(this, arguments).then((el) => {
				const table = el.querySelector('table');
				el.setAttribute('data-rpinet-grid', '');
				table.parentNode.insertBefore(E('div', { 'id': 'rpinet-filters-box' }, self.filters.render(self.rows)), table);
				table.parentNode.insertBefore(E('div', { 'id': 'rpinet-pager-box' },
					widgets.pager(self.view, self.query.size, (p) => self.setQuery(p))), table.nextSibling);
				return el;
			});
		};
		/* a filter that matches no node says so; LuCI's own words when there is no node at all */
		s.renderSectionPlaceholder = function() {
			return (self.view && self.view.total) ? E('em', {}, _('No node matches the filter.'))
				: form.GridSection.prototype.renderSectionPlaceholder.apply(this, arguments);
		};
		s.anonymous = false;
		s.addremove = true;
		s.nodescriptions = true;
		s.addbtntitle = _('Add node');
		s.modaltitle = (sid) => _('Node %s').format(sid);

		/* the section name is the node name: docs/SPEC.md §1 allows [a-z0-9_]{1,32} */
		s.handleAdd = function(ev, name) {
			const err = logic.validateName(name);
			if (err !== true) {
				widgets.notify(_('Invalid node name "%s": %s').format(name || '', err), 'error');
				return Promise.resolve();
			}
			if (uci.get('rpinet', name) != null) {
				widgets.notify(_('A section named %s exists already').format(name), 'error');
				return Promise.resolve();
			}
			return form.GridSection.prototype.handleAdd.apply(this, [ ev, name ]);
		};
		s.handleRemove = (sid) => self.handleRemove(m, sid);

		o = s.option(form.Flag, 'enabled', _('Enabled'));
		o.default = '1';
		o.editable = true;
		o.rmempty = false;

		o = s.option(form.ListValue, 'model', _('Model'));
		logic.MODELS.forEach((k) => o.value(k, logic.modelTitle(k)));
		o.default = 'pi4';
		o.validate = (sid, v) => logic.validateModel(v);
		/* the grid shows what people call the board, not the option's key */
		o.textvalue = (sid) => logic.modelTitle(uci.get('rpinet', sid, 'model') || 'pi4');

		o = s.option(form.Value, 'serial', _('Serial'), _('8 hex digits: the last 8 of the Serial line in /proc/cpuinfo. Either case.'));
		o.rmempty = false;
		o.validate = (sid, v) => logic.validateSerial(v);
		o.write = function(sid, v) { return form.Value.prototype.write.apply(this, [ sid, logic.normalizeSerial(v) ]); };

		o = s.option(form.Value, 'mac', _('MAC address'), _('Colon-separated; either case.'));
		o.rmempty = false;
		o.validate = (sid, v) => logic.validateMac(v);
		o.write = function(sid, v) { return form.Value.prototype.write.apply(this, [ sid, logic.normalizeMac(v) ]); };

		/* how its last boot went, from status: running, degraded with the reasons, stalled … */
		o = s.option(form.DummyValue, '_last_boot', _('Last boot'));
		o.modalonly = false;
		o.textvalue = (sid) => {
			const n = self.boots[sid];
			if (!n)
				return '-';
			const r = logic.nodeRow(n, Date.now() / 1000);
			return widgets.label(r.look, r.stateText, { 'title': r.reason });
		};

		/* the column shows the directory the Pi asks for; the method is edited in the dialog */
		o = s.option(form.DummyValue, '_boot_dir', _('Boot directory'));
		o.modalonly = false;
		o.textvalue = (sid) => E('code', { 'style': 'white-space:nowrap' }, widgets.text(logic.bootDir(Object.assign({ name: sid }, uci.get('rpinet', sid)))));

		o = s.option(form.ListValue, 'boot_id', _('Boot directory named by'), _('Must match TFTP_PREFIX in the Pi\'s EEPROM.'));
		o.modalonly = true;
		o.value('serial', _('Serial number'));
		o.value('mac', _('MAC address'));
		o.value('custom', _('Custom name'));
		o.default = 'serial';
		o.validate = (sid, v) => logic.validateBootId(v);

		o = s.option(form.Value, 'boot_dir', _('Custom boot directory'), _('The TFTP_PREFIX_STR of the Pi, without the trailing /.'));
		o.modalonly = true;
		o.depends('boot_id', 'custom');
		o.validate = (sid, v) => logic.validateBootDir('custom', v);

		o = s.option(form.Value, 'ip', _('IPv4 address'), _('Reserved for this node. Empty: rpinet picks a free one and reserves it.'));
		o.placeholder = _('automatic');
		o.validate = (sid, v) => logic.validateIPv4(v, true);
		o.textvalue = (sid) => uci.get('rpinet', sid, 'ip') ? E('code', {}, widgets.text(uci.get('rpinet', sid, 'ip'))) : E('em', {}, _('automatic'));

		o = s.option(form.Value, 'volume_size', _('Container volume'), _('A disk for /var/lib/rpinet-volume so k3s, containerd or Docker run on an NFS root, e.g. 32G. Empty: the Settings default.'));
		o.modalonly = true;
		o.placeholder = uci.get('rpinet', 'main', 'volume_size') || '';
		o.validate = (sid, v) => logic.validateVolumeSize(v);

		o = s.option(form.ListValue, 'root_mode', _('Root'),
			_('Shared: the image\'s root, read-only, with the node\'s own changes in an overlay on the router; provisioned in a second, and many nodes share one copy. Copy: a private full copy of the image\'s root. Takes effect at the next provision.'));
		o.modalonly = true;
		o.value('', logic.fmt(_('As in Settings (%s)'), logic.mainRootMode(uci.get('rpinet', 'main'))));
		/* rpinet refuses a shared root with the storage on an NFS server (an overlay cannot keep its changes on NFS) */
		if (!uci.get('rpinet', 'main', 'storage_server'))
			o.value('shared', _('Shared (overlay on the image)'));
		o.value('copy', _('Copy (a private full copy)'));
		o.optional = true;

		o = s.option(form.DynamicList, 'ssh_key', _('SSH keys'), _('OpenSSH public keys that may log in to this node as its first user, besides those in Settings; one key an entry. Installed when the node is provisioned.'));
		o.modalonly = true;
		o.validate = (sid, v) => (v == '' ? true : logic.validateSshKey(v));

		o = s.option(form.DummyValue, 'image', _('Image'));
		o.modalonly = false;
		o.textvalue = (sid) => {
			const image = uci.get('rpinet', sid, 'image'),
			    off = self.writable() ? null : true,
			    /* only where a kept root exists (status `kept`) */
			    kept = self.boots[sid] ? logic.nodeRow(self.boots[sid], 0).kept : null;
			/* the image on its line, the buttons on the next: every row alike, whatever the name's length */
			return E('div', {}, [
				E('div', { 'style': widgets.WRAP }, image ? widgets.text(image) : E('em', {}, _('not provisioned'))),
				E('button', {
					'class': 'cbi-button cbi-button-action',
					'data-provision': sid,
					'disabled': off,
					'click': ui.createHandlerFn(self, () => actions.provisionDialog(sid, {
						current: image, onDone: () => self.reload() }))
				}, image ? _('Reimage…') : _('Provision…')), ' ',
				kept ? E('button', {
					'class': 'cbi-button cbi-button-negative',
					'data-rollback': sid,
					'disabled': off,
					'title': kept.image ? logic.fmt(_('Back to the root of %s an image roll kept for this node'), kept.image)
						: _('Back to the root an image roll kept for this node'),
					'click': ui.createHandlerFn(self, () => actions.rollback(sid, kept).then((done) => done && self.reload()))
				}, _('Roll back')) : ''
			]);
		};

		return m.render();
	}
});
