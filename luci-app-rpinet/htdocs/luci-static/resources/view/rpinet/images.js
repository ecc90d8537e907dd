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

/*
 * Services → Raspberry Pi netboot → Images: the OS images nodes are built from. Import one
 * from the Raspberry Pi OS list, from an http(s) address or from a .img / .img.xz / .img.gz
 * file on the SSD (a background job with a progress bar); roll one out to nodes a few at a
 * time; delete one no node uses. Without write access every control is disabled.
 */

const callImages = rpc.declare({
	object: 'rpinet',
	method: 'images',
	expect: { images: [] }
});

/* contract 4: absent on an rpinet before the fleet work; the page then offers file and URL */
const callCatalog = rpc.declare({
	object: 'rpinet',
	method: 'image_catalog'
});

const callImageImport = rpc.declare({
	object: 'rpinet',
	method: 'image_import',
	params: [ 'path', 'name', 'url', 'sha256' ]
});

const callImageDelete = rpc.declare({
	object: 'rpinet',
	method: 'image_delete',
	params: [ 'name' ]
});

const callImageRoll = rpc.declare({
	object: 'rpinet',
	method: 'image_roll',
	params: [ 'image', 'nodes', 'batch' ]
});

return view.extend({
	load() {
		return Promise.all([
			L.resolveDefault(callImages(), []),
			L.resolveDefault(callCatalog(), null),
			L.resolveDefault(uci.load('rpinet'), null),
			access.canCall('image_import')
		]);
	},

	/* whether this login may import, roll out and delete, asked in load() */
	canWrite: true,

	writable() {
		return this.canWrite;
	},

	renderList(images) {
		const rows = logic.imageRows(images),
		    off = this.writable() ? null : true;

		if (!rows.length)
			return E('em', {}, _('No image imported yet.'));

		return E('table', { 'class': 'table', 'id': 'rpinet-images' }, [
			E('tr', { 'class': 'tr table-titles' }, [
				E('th', { 'class': 'th' }, _('Name')),
				E('th', { 'class': 'th' }, _('OS')),
				E('th', { 'class': 'th' }, _('Size')),
				E('th', { 'class': 'th' }, _('Imported')),
				E('th', { 'class': 'th' }, _('Used by')),
				E('th', { 'class': 'th cbi-section-actions' }, '')
			]),
			...rows.map((r) => E('tr', { 'class': 'tr', 'data-image': r.name }, [
				E('td', { 'class': 'td', 'data-title': _('Name') }, E('strong', {}, widgets.text(r.name))),
				E('td', { 'class': 'td', 'data-title': _('OS') }, r.os ? widgets.text(r.os) : E('em', {}, _('unknown'))),
				E('td', { 'class': 'td', 'data-title': _('Size') }, widgets.text(r.size)),
				E('td', { 'class': 'td', 'data-title': _('Imported') }, widgets.text(r.created)),
				E('td', { 'class': 'td', 'data-title': _('Used by') }, r.usedBy ? widgets.text(r.usedBy) : E('em', {}, _('no node'))),
				E('td', { 'class': 'td cbi-section-actions' }, E('div', {}, [
					E('button', {
						'class': 'cbi-button cbi-button-action',
						'data-roll': r.name,
						'disabled': off,
						'title': _('Reimage nodes from %s, a few at a time').format(r.name),
						'click': ui.createHandlerFn(this, 'handleRollDialog', r.name)
					}, _('Roll out')),
					E('button', {
						'class': 'cbi-button cbi-button-remove',
						'title': r.deletable ? _('Delete image %s').format(r.name) : r.deleteReason,
						'disabled': (r.deletable && !off) ? null : true,
						'click': ui.createHandlerFn(this, 'handleDelete', r.name)
					}, _('Delete'))
				]))
			]))
		]);
	},

	refresh() {
		return L.resolveDefault(callImages(), []).then((images) => {
			this.images = images;
			dom.content(document.getElementById('rpinet-images-box'), this.renderList(images));
		});
	},

	handleDelete(name) {
		if (!confirm(_('Delete image %s from the SSD?').format(name)))
			return;
		return callImageDelete(name).then((res) => {
			logic.checkReply(res);
			widgets.notify(_('Image %s deleted.').format(name), 'info');
			return this.refresh();
		}).catch((err) => {
			widgets.notify(_('Could not delete %s: %s').format(name, logic.describeError(err)), 'error');
		});
	},

	/* image_roll (contract 4): which nodes, how many at a time; then the job's progress */
	handleRollDialog(image) {
		const nodes = uci.sections('rpinet', 'node').filter((s) => s.image && s.image != image),
		    boxes = nodes.map((s) => [ s['.name'], new ui.Checkbox('1', { id: 'rpinet-roll-' + s['.name'] }) ]),
		    batch = new ui.Textfield(uci.get('rpinet', 'main', 'roll_batch') || '2', {
			id: 'rpinet-roll-batch', optional: false,
			validate: (v) => /^[1-9][0-9]{0,2}$/.test(v) ? true : _('A whole number of nodes, 1 or more')
		    }),
		    box = E('div', { 'id': 'rpinet-roll-job' });

		if (!nodes.length) {
			widgets.notify(_('Every provisioned node runs %s already.').format(image), 'info');
			return;
		}

		ui.showModal(_('Roll out %s').format(image), [
			E('p', {}, _('The chosen nodes are reimaged from this image a few at a time; each batch must boot up before the next starts. A node keeps its container volume and can be rolled back.')),
			E('div', { 'class': 'cbi-value' }, [
				E('label', { 'class': 'cbi-value-title' }, _('Nodes')),
				E('div', { 'class': 'cbi-value-field' }, boxes.map(([ name, cb ]) => E('div', {}, [
					cb.render(), ' ', E('label', { 'for': 'widget.rpinet-roll-' + name }, widgets.text(logic.fmt('%s (%s)', name, uci.get('rpinet', name, 'image'))))
				])))
			]),
			E('div', { 'class': 'cbi-value' }, [
				E('label', { 'class': 'cbi-value-title' }, _('At a time')),
				E('div', { 'class': 'cbi-value-field' }, batch.render())
			]),
			box,
			E('div', { 'class': 'right' }, [
				E('button', { 'class': 'cbi-button', 'click': ui.hideModal }, _('Close')), ' ',
				E('button', {
					'class': 'cbi-button cbi-button-action important',
					'click': ui.createHandlerFn(this, () => {
						const names = boxes.filter(([ , cb ]) => cb.isChecked()).map(([ n ]) => n);
						if (!names.length || !batch.isValid())
							return dom.content(box, E('div', { 'class': 'alert-message warning' },
								!names.length ? _('Choose at least one node.') : _('A whole number of nodes, 1 or more')));
						return callImageRoll(image, names.join(' '), batch.getValue()).then((res) => {
							logic.checkReply(res, 'job');
							widgets.followJob(box, res.job, _('Rolling %s out to %s').format(image, names.join(', ')), (j) =>
								widgets.notify((j.state == 'done')
									? _('%s is rolled out.').format(image)
									: _('Rolling out %s stopped: %s').format(image, j.message), (j.state == 'done') ? 'info' : 'error'));
						}).catch((err) => dom.content(box, E('div', { 'class': 'alert-message error' },
							widgets.text(_('Could not roll out: %s').format(logic.describeError(err))))));
					})
				}, _('Roll out'))
			])
		]);
	},

	handleImport(map, data) {
		const box = document.getElementById('rpinet-import-job');

		return map.save(null, true).then(() => {
			const d = data.import,
			    pick = this.catalog.find((c) => c.url == d.catalog),
			    url = (d.source == 'catalog') ? (pick ? pick.url : '') : (d.source == 'url') ? d.url : '',
			    sha256 = (d.source == 'catalog') ? (pick ? pick.sha256 : '') : (d.source == 'url') ? d.sha256 : '',
			    path = (d.source == 'file') ? d.path : '',
			    name = d.name || logic.imageNameFromPath(url || path);
			let bad = (d.source == 'file') ? logic.validateImagePath(path) : logic.validateUrl(url);
			if (bad === true)
				bad = logic.validateSha256(sha256);
			if (bad === true)
				bad = logic.validateImageName(name);
			if (bad !== true)
				throw new Error(bad);

			dom.content(box, E('p', { 'class': 'spinning' }, widgets.text(_('Starting the import of %s…').format(name))));

			return callImageImport(path || undefined, name, url || undefined, sha256 || undefined).then((res) => {
				logic.checkReply(res, 'job');
				widgets.followJob(box, res.job, _('Importing %s from %s').format(name, url || path), (j) => {
					if (j.state == 'done')
						widgets.notify(_('Image %s imported.').format(name), 'info');
					else
						widgets.notify(_('Import of %s failed: %s').format(name, j.message), 'error');
					return this.refresh();
				});
			});
		}).catch((err) => {
			dom.content(box, E('div', { 'class': 'alert-message error' }, widgets.text(err
				? _('Could not import: %s').format(logic.describeError(err))
				: _('Some values are invalid; see the highlighted fields.'))));
		});
	},

	render([ images, catalog, , canWrite ]) {
		this.canWrite = canWrite;
		const writable = this.writable(),
		    off = writable ? null : true;

		this.images = images;
		this.catalog = logic.catalogRows(catalog);

		const data = { 'import': { source: this.catalog.length ? 'catalog' : 'file', catalog: this.catalog.length ? this.catalog[0].url : '',
			url: '', sha256: '', path: '', name: '' } },
		    m = new form.JSONMap(data, null, null),
		    s = m.section(form.NamedSection, 'import', 'import', _('Import an image'),
			_('Raspberry Pi OS from its download list, an image at an http(s) address, or a .img, .img.xz or .img.gz file already on the SSD. Its boot and root partitions are unpacked once; nodes are then built from it in seconds.'));
		let o;

		m.readonly = !writable;

		o = s.option(form.ListValue, 'source', _('From'));
		if (this.catalog.length)
			o.value('catalog', _('Raspberry Pi OS list'));
		o.value('url', _('Web address'));
		o.value('file', _('File on the router'));

		if (this.catalog.length) {
			o = s.option(form.ListValue, 'catalog', _('Image'), _('The list Raspberry Pi Imager offers, fetched by the router.'));
			this.catalog.forEach((c) => o.value(c.url, c.label));
			o.rmempty = false;
			o.depends('source', 'catalog');
		}

		o = s.option(form.Value, 'url', _('Address'), _('http:// or https://, e.g. a .img.xz from downloads.raspberrypi.com'));
		o.depends('source', 'url');
		o.validate = (sid, v) => logic.validateUrl(v);

		o = s.option(form.Value, 'sha256', _('SHA-256'), _('Optional: the download is refused unless it has this checksum.'));
		o.depends('source', 'url');
		o.validate = (sid, v) => logic.validateSha256(v);

		o = s.option(form.Value, 'path', _('Image file'), _('Absolute path on the router, e.g. /mnt/rpinet/2024-11-19-raspios-bookworm-arm64-lite.img.xz'));
		o.placeholder = '/mnt/rpinet/raspios-lite.img.xz';
		o.depends('source', 'file');
		o.validate = (sid, v) => logic.validateImagePath(v);

		o = s.option(form.Value, 'name', _('Image name'), _('Optional; taken from the file name when empty.'));
		o.validate = (sid, v) => (v == '') ? true : logic.validateImageName(v);

		return m.render().then((formEl) => E('div', {}, [
			E('h2', {}, _('OS images')),
			E('div', { 'class': 'cbi-map-descr' }, _('The images nodes are provisioned from. An image a node was built from cannot be deleted.')),
			writable ? '' : E('div', { 'class': 'alert-message notice', 'id': 'rpinet-readonly' },
				_('You have read-only access: you can see the images but not import, roll out or delete them.')),
			(catalog == null || typeof(catalog) != 'object') ? E('div', { 'class': 'alert-message notice', 'id': 'rpinet-no-catalog' },
				_('This rpinet offers no Raspberry Pi OS list; update the rpinet package to pick images from it.')) : '',
			E('div', { 'class': 'cbi-section' }, [
				E('h3', {}, _('Imported images')),
				E('div', { 'id': 'rpinet-images-box' }, this.renderList(images))
			]),
			formEl,
			E('div', { 'class': 'cbi-page-actions' },
				E('button', {
					'class': 'cbi-button cbi-button-action important',
					'id': 'rpinet-import',
					'disabled': off,
					'click': ui.createHandlerFn(this, 'handleImport', m, data)
				}, _('Import'))),
			E('div', { 'id': 'rpinet-import-job' })
		]));
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
