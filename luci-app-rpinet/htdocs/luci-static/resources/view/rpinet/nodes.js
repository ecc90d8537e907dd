'use strict';
'require view';
'require dom';
'require poll';
'require rpc';
'require uci';
'require ui';
'require form';
'require rpinet.logic as logic';

/*
 * Services → Raspberry Pi netboot → Nodes: a grid over the `config node` sections of
 * /etc/config/rpinet, validated as SPEC §1 says, with Provision / Reimage per node.
 */

var callImages = rpc.declare({
	object: 'rpinet',
	method: 'images',
	expect: { images: [] }
});

var callNodeProvision = rpc.declare({
	object: 'rpinet',
	method: 'node_provision',
	params: [ 'name', 'image' ]
});

var callNodeRemove = rpc.declare({
	object: 'rpinet',
	method: 'node_remove',
	params: [ 'name', 'purge' ]
});

var callJob = rpc.declare({
	object: 'rpinet',
	method: 'job',
	params: [ 'id' ]
});

/* A LuCI progress bar filled from a job reply. */
function renderJob(job) {
	var j = logic.jobView(job);
	return E('div', { 'class': 'rpinet-job', 'data-state': j.state }, [
		E('div', { 'class': 'cbi-progressbar', 'title': j.label },
			E('div', { 'style': 'width:%d%%'.format(j.percent) })),
		E('small', {}, [ j.label, j.detail ? ' · ' + j.detail : '', j.message ? ' · ' + j.message : '' ])
	]);
}

return view.extend({
	load: function() {
		return Promise.all([ callImages(), uci.load('rpinet') ]);
	},

	/* Runs node_provision and follows the job in a modal until it ends. */
	handleProvision: function(name, image) {
		var box = E('div', {}, E('p', { 'class': 'spinning' }, _('Starting…')));

		ui.showModal(_('Provision %s from %s').format(name, image), [
			E('p', {}, _('The node\'s boot directory and root filesystem are rebuilt from the image. Anything stored on the node is replaced.')),
			box,
			E('div', { 'class': 'right' }, E('button', { 'class': 'cbi-button', 'click': ui.hideModal }, _('Close')))
		]);

		return callNodeProvision(name, image).then(function(res) {
			if (!res || res.error || !res.job)
				throw new Error((res && res.error) || _('node_provision started no job'));

			var step = function() {
				return callJob(res.job).then(function(job) {
					var j = logic.jobView(job);
					dom.content(box, renderJob(job));
					if (j.finished) {
						poll.remove(step);
						ui.addNotification(null, E('p', {}, (j.state == 'done')
							? _('%s is provisioned from %s.').format(name, image)
							: _('Provisioning %s failed: %s').format(name, j.message)), (j.state == 'done') ? 'info' : 'error');
					}
				});
			};
			/* the first step runs within a second (at once when polling starts) */
			poll.add(step, 1);
		}).catch(function(err) {
			dom.content(box, E('div', { 'class': 'alert-message error' }, _('Could not provision: %s').format(err.message || err)));
		});
	},

	/* Asks which image, then provisions. */
	handleProvisionDialog: function(name, current) {
		var images = this.images.map(function(i) { return i.name; }),
		    select;

		if (!images.length) {
			ui.addNotification(null, E('p', {}, _('Import an image first (Images page).')), 'warning');
			return;
		}

		select = new ui.Select(current && images.indexOf(current) > -1 ? current : images[0],
			images.reduce(function(o, n) { o[n] = n; return o; }, {}), { id: 'rpinet-provision-image', optional: false });

		ui.showModal(current ? _('Reimage %s').format(name) : _('Provision %s').format(name), [
			E('p', {}, _('Choose the image to build the node from.')),
			E('div', { 'class': 'cbi-value' }, [
				E('label', { 'class': 'cbi-value-title' }, _('Image')),
				E('div', { 'class': 'cbi-value-field' }, select.render())
			]),
			E('div', { 'class': 'right' }, [
				E('button', { 'class': 'cbi-button', 'click': ui.hideModal }, _('Cancel')), ' ',
				E('button', {
					'class': 'cbi-button cbi-button-action important',
					'click': ui.createHandlerFn(this, function() {
						return this.handleProvision(name, select.getValue());
					})
				}, current ? _('Reimage') : _('Provision'))
			])
		]);
	},

	/* Delete: node_remove takes the node out of the config, DHCP and NFS, optionally with its files. */
	handleRemove: function(map, name) {
		var purge = new ui.Checkbox('0', { id: 'rpinet-purge' });

		ui.showModal(_('Remove node %s').format(name), [
			E('p', {}, _('The node leaves the configuration, its DHCP entry and its NFS export. It can no longer boot from this router.')),
			E('div', {}, [ purge.render(), ' ',
				E('label', { 'for': 'widget.rpinet-purge' }, _('Also delete its boot directory and root filesystem from the SSD')) ]),
			E('div', { 'class': 'right' }, [
				E('button', { 'class': 'cbi-button', 'click': ui.hideModal }, _('Cancel')), ' ',
				E('button', {
					'class': 'cbi-button cbi-button-negative important',
					'click': ui.createHandlerFn(this, function() {
						return callNodeRemove(name, purge.isChecked()).then(function(res) {
							if (!res || typeof(res) != 'object' || res.error)
								throw new Error((res && res.error) || _('ubus code %s').format(res));
							ui.hideModal();
							ui.addNotification(null, E('p', {}, res.purged
								? _('Node %s removed, its files deleted.').format(name)
								: _('Node %s removed; its files stay on the SSD.').format(name)), 'info');
							uci.unload('rpinet');
							return map.load().then(function() { return map.reset(); });
						}).catch(function(err) {
							ui.hideModal();
							ui.addNotification(null, E('p', {}, _('Could not remove %s: %s').format(name, err.message || err)), 'error');
						});
					})
				}, _('Remove'))
			])
		]);
	},

	render: function(data) {
		var m, s, o, self = this;

		this.images = Array.isArray(data[0]) ? data[0] : [];

		m = new form.Map('rpinet', _('Raspberry Pi nodes'),
			_('Each node is one Raspberry Pi that boots from this router. The serial and MAC address are on the Pi (see Settings → EEPROM); a node boots once it is provisioned from an image.'));

		s = m.section(form.GridSection, 'node', _('Nodes'));
		s.anonymous = false;
		s.addremove = true;
		s.nodescriptions = true;
		s.addbtntitle = _('Add node');
		s.modaltitle = function(sid) { return _('Node %s').format(sid); };

		/* the section name is the node name: SPEC §1 allows [a-z0-9_]{1,32} */
		s.handleAdd = function(ev, name) {
			var err = logic.validateName(name);
			if (err !== true) {
				ui.addNotification(null, E('p', {}, _('Invalid node name "%s": %s').format(name || '', err)), 'error');
				return Promise.resolve();
			}
			if (uci.get('rpinet', name) != null) {
				ui.addNotification(null, E('p', {}, _('A section named %s exists already').format(name)), 'error');
				return Promise.resolve();
			}
			return form.GridSection.prototype.handleAdd.apply(this, [ ev, name ]);
		};
		s.handleRemove = function(sid) { return self.handleRemove(m, sid); };

		o = s.option(form.Flag, 'enabled', _('Enabled'));
		o.default = '1';
		o.editable = true;
		o.rmempty = false;

		o = s.option(form.ListValue, 'model', _('Model'));
		logic.MODELS.forEach(function(k) { o.value(k, logic.modelTitle(k)); });
		o.default = 'pi4';
		o.validate = function(sid, v) { return logic.validateModel(v); };

		o = s.option(form.Value, 'serial', _('Serial'), _('8 hex digits: the last 8 of the Serial line in /proc/cpuinfo. Either case.'));
		o.rmempty = false;
		o.validate = function(sid, v) { return logic.validateSerial(v); };
		o.write = function(sid, v) { return form.Value.prototype.write.apply(this, [ sid, logic.normalizeSerial(v) ]); };

		o = s.option(form.Value, 'mac', _('MAC address'), _('Colon-separated; either case.'));
		o.rmempty = false;
		o.validate = function(sid, v) { return logic.validateMac(v); };
		o.write = function(sid, v) { return form.Value.prototype.write.apply(this, [ sid, logic.normalizeMac(v) ]); };

		o = s.option(form.ListValue, 'boot_id', _('Boot directory'), _('Must match TFTP_PREFIX in the Pi\'s EEPROM.'));
		o.value('serial', _('Serial number'));
		o.value('mac', _('MAC address'));
		o.value('custom', _('Custom name'));
		o.default = 'serial';
		o.validate = function(sid, v) { return logic.validateBootId(v); };

		o = s.option(form.Value, 'boot_dir', _('Custom boot directory'), _('The TFTP_PREFIX_STR of the Pi, without the trailing /.'));
		o.modalonly = true;
		o.depends('boot_id', 'custom');
		o.validate = function(sid, v) { return logic.validateBootDir('custom', v); };

		o = s.option(form.Value, 'ip', _('Fixed IPv4'), _('Optional: the address this node always gets.'));
		o.validate = function(sid, v) { return logic.validateIPv4(v, true); };

		o = s.option(form.DummyValue, 'image', _('Image'));
		o.modalonly = false;
		o.textvalue = function(sid) {
			var image = uci.get('rpinet', sid, 'image');
			return E('div', {}, [
				image ? E('span', {}, image) : E('em', {}, _('not provisioned')), ' ',
				E('button', {
					'class': 'cbi-button cbi-button-action',
					'data-provision': sid,
					'click': ui.createHandlerFn(self, 'handleProvisionDialog', sid, image)
				}, image ? _('Reimage') : _('Provision'))
			]);
		};

		return m.render();
	}
});
