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
 * Services → Raspberry Pi netboot → Images: the OS images nodes are built from. Import one
 * from the Raspberry Pi OS list (one Import button per image, checked with the list's
 * SHA-256), from an http(s) address or from a .img / .img.xz / .img.gz file on the SSD —
 * a background job with bytes, rate and time left, shown where it was started; roll one to
 * nodes a few at a time (a LuCI form, locked while the roll runs), with each node's progress
 * and a node that did not come up shown with its boot trace and a Roll back button; delete
 * one no node uses, asked first in LuCI's modal. Without write access every control is
 * disabled.
 */

const callImages = rpc.declare({
	object: 'rpinet',
	method: 'images',
	expect: { images: [] }
});

/* absent on an rpinet before the fleet work: the page then offers address and file */
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
	params: [ 'image', 'from', 'nodes', 'batch' ]
});

const now = () => Math.floor(Date.now() / 1000);

return view.extend({
	load() {
		return Promise.all([
			L.resolveDefault(callImages(), []),
			L.resolveDefault(callCatalog(), null),
			L.resolveDefault(uci.load('rpinet'), null),
			access.canCall('image_import')
		]);
	},

	/* whether this login may import, roll and delete, asked in load() */
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
					}, _('Roll to nodes')),
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

	/* The Raspberry Pi OS list (image_catalog): one row and one Import button per image. */
	renderCatalog() {
		const c = this.catalogReply,
		    off = this.writable() ? null : true;

		if (c == null || typeof(c) != 'object')
			return E('div', { 'class': 'alert-message notice', 'id': 'rpinet-no-catalog' },
				_('This rpinet offers no Raspberry Pi OS list; update the rpinet package to pick images from it.'));
		if (c.error)
			return E('div', { 'class': 'alert-message warning', 'id': 'rpinet-catalog-error', 'style': widgets.WRAP }, [
				E('p', {}, widgets.text(logic.fmt(_('The Raspberry Pi OS list is not available: %s.'), logic.plainText(logic.describeError(c)).replace(/\.$/, '')))),
				E('p', {}, _('Check that the router reaches the internet and the list\'s address under Settings → Images. An image can still be imported from its address or a file below.')),
				E('button', {
					'class': 'cbi-button cbi-button-action', 'id': 'rpinet-catalog-retry',
					'click': ui.createHandlerFn(this, 'handleCatalogRetry')
				}, _('Try again'))
			]);

		const rows = logic.catalogRows(c, this.images),
		    age = logic.catalogAge(c, now());

		if (!rows.length)
			return E('em', { 'id': 'rpinet-catalog-empty' }, age
				? _('The list holds no image the router can import.')
				: _('The router is fetching the list; it shows here in a moment.'));

		return E('div', {}, [
			E('table', { 'class': 'table', 'id': 'rpinet-catalog' }, [
				E('tr', { 'class': 'tr table-titles' }, [
					E('th', { 'class': 'th' }, _('Image')),
					E('th', { 'class': 'th' }, _('Released')),
					E('th', { 'class': 'th' }, _('Download')),
					E('th', { 'class': 'th' }, _('Unpacked')),
					E('th', { 'class': 'th cbi-section-actions' }, '')
				]),
				...rows.map((r) => E('tr', { 'class': 'tr', 'data-url': r.url }, [
					E('td', { 'class': 'td', 'data-title': _('Image') }, [
						E('strong', {}, widgets.text(r.name)),
						r.description ? E('div', { 'class': 'cbi-value-description' }, widgets.text(r.description)) : ''
					]),
					E('td', { 'class': 'td', 'data-title': _('Released') }, r.date ? widgets.text(r.date) : E('em', {}, _('undated'))),
					E('td', { 'class': 'td', 'data-title': _('Download') }, r.size ? widgets.text(r.size) : E('em', {}, _('unknown'))),
					E('td', { 'class': 'td', 'data-title': _('Unpacked') }, r.unpacked ? widgets.text(r.unpacked) : E('em', {}, _('unknown'))),
					E('td', { 'class': 'td cbi-section-actions' }, E('button', {
						'class': 'cbi-button cbi-button-action',
						'data-import': r.imageName,
						'disabled': (r.imported || off) ? true : null,
						'title': r.imported ? _('Imported as %s').format(r.imageName) : _('Import as %s').format(r.imageName),
						'click': ui.createHandlerFn(this, 'handleCatalogImport', r)
					}, r.imported ? _('Imported') : _('Import')))
				]))
			]),
			E('div', { 'class': 'cbi-section-descr', 'id': 'rpinet-catalog-age' }, widgets.text(
				_('The list Raspberry Pi Imager shows, fetched by the router %s. A download is checked against its SHA-256 as it streams in; only the unpacked image is stored.').format(age)))
		]);
	},

	/* while the router fetches the list for the first time, ask again every 5 seconds */
	watchCatalog() {
		const c = this.catalogReply;
		if (this.catalogStep || !c || typeof(c) != 'object' || c.error || +c.fetched)
			return;
		this.catalogStep = () => L.resolveDefault(callCatalog(), null).then((reply) => {
			if (reply && typeof(reply) == 'object' && !reply.error && !+reply.fetched)
				return;
			poll.remove(this.catalogStep);
			this.catalogReply = reply;
			dom.content(document.getElementById('rpinet-catalog-box'), this.renderCatalog());
		});
		poll.add(this.catalogStep, 5);
	},

	handleCatalogRetry() {
		return L.resolveDefault(callCatalog(), null).then((reply) => {
			this.catalogReply = reply;
			dom.content(document.getElementById('rpinet-catalog-box'), this.renderCatalog());
			this.watchCatalog();
		});
	},

	refresh() {
		return L.resolveDefault(callImages(), []).then((images) => {
			this.images = images;
			dom.content(document.getElementById('rpinet-images-box'), this.renderList(images));
			dom.content(document.getElementById('rpinet-catalog-box'), this.renderCatalog());
		});
	},

	handleDelete(name) {
		return widgets.confirm(logic.fmt(_('Delete image %s'), name),
			logic.fmt(_('Delete image %s from the storage? Nodes are built from it no more; the nodes already built keep their roots.'), name),
			_('Delete'), 'negative').then((yes) => yes && this.deleteImage(name));
	},

	deleteImage(name) {
		return callImageDelete(name).then((res) => {
			logic.checkReply(res);
			widgets.notify(_('Image %s deleted.').format(name), 'info');
			return this.refresh();
		}).catch((err) => {
			widgets.notify(_('Could not delete %s: %s').format(name, logic.describeError(err)), 'error');
		});
	},

	/*
	 * image_roll in a LuCI form: every node on another image, or the nodes ticked (a
	 * checkbox group, each box beside its node's name), `batch` at a time; then the job's
	 * progress per node until the roll ends. While it runs the form is locked: what was sent
	 * stays what it shows.
	 */
	handleRollDialog(image) {
		const choices = logic.rollChoices(uci.sections('rpinet', 'node'), image);

		if (!choices.nodes.length) {
			widgets.notify(_('Every provisioned node runs %s already.').format(image), 'info');
			return;
		}

		const which = new ui.Select(choices.from.length ? 'from:' + choices.from[0].image : 'nodes',
			Object.fromEntries(choices.from.map((f) => [ 'from:' + f.image, _('Nodes on %s').format(f.image) ])
				.concat([ [ 'nodes', _('Nodes I tick') ] ])),
			{ id: 'rpinet-roll-which', optional: false }),
		    picked = E('div', { 'class': 'cbi-value-description', 'id': 'rpinet-roll-picked', 'style': widgets.WRAP }),
		    ticks = new ui.Select([], Object.fromEntries(choices.nodes.map((n) => [ n.name, logic.fmt('%s (%s)', n.name, n.image) ])),
			{ id: 'rpinet-roll-tick', multiple: true, widget: 'checkbox', orientation: 'vertical', sort: choices.nodes.map((n) => n.name) }),
		    batch = new ui.Textfield(uci.get('rpinet', 'main', 'roll_batch') || '2', {
			id: 'rpinet-roll-batch', optional: false,
			validate: (v) => logic.validateRollBatch(v)
		    }),
		    box = E('div', { 'id': 'rpinet-roll-job' }),
		    field = (id, title, widget, more) => E('div', { 'class': 'cbi-value', 'id': id }, [
			E('label', { 'class': 'cbi-value-title', 'for': 'widget.' + id }, title),
			E('div', { 'class': 'cbi-value-field' }, [ widget ].concat(more || []))
		    ]),
		    list = field('rpinet-roll-nodes', _('Nodes'), ticks.render()),
		    /* as wide as the dialog: a choice names an image, and image names can be long */
		    whichEl = widgets.widen(which.render()),
		    form = E('div', { 'class': 'cbi-section', 'id': 'rpinet-roll-form' }, [
			field('rpinet-roll-which-field', _('Reimage'), whichEl, [ picked ]),
			list,
			field('rpinet-roll-batch-field', _('Nodes at a time'), batch.render(),
				[ E('div', { 'class': 'cbi-value-description' }, _('The next batch starts once these are running on the new image.')) ])
		    ]),
		    showList = () => {
			const w = which.getValue(), f = choices.from.find((x) => 'from:' + x.image == w);
			list.style.display = f ? 'none' : '';
			dom.content(picked, f ? widgets.text(_('Every node on %s: %s').format(f.image, f.nodes.join(', '))) : '');
		    };

		whichEl.addEventListener('change', showList);
		showList();

		ui.showModal(_('Roll %s to nodes').format(image), [
			E('p', {}, _('The nodes are reimaged from this image a batch at a time. Each keeps its previous root until it reports running on the new image; the roll stops at a node that does not, which can then be rolled back. A node keeps its SSH host keys, machine-id and container volume.')),
			form,
			box,
			E('div', { 'class': 'right' }, [
				E('button', { 'class': 'cbi-button', 'click': ui.hideModal }, _('Close')), ' ',
				E('button', {
					'class': 'cbi-button cbi-button-action important',
					'id': 'rpinet-roll-start',
					'click': ui.createHandlerFn(this, () => {
						const w = which.getValue(),
						    from = (w.indexOf('from:') == 0) ? w.slice(5) : '',
						    names = from ? [] : ticks.getValue(),
						    bad = !batch.isValid() ? logic.validateRollBatch(batch.getValue())
							: (!from && !names.length) ? _('Tick at least one node.') : null;
						if (bad)
							return dom.content(box, widgets.error(bad, 'warning'));
						return this.startRoll(box, form, image, from, names, batch.getValue());
					})
				}, _('Roll'))
			])
		], 'cbi-modal');
	},

	startRoll(box, form, image, from, names, batch) {
		const lock = (on) => form.querySelectorAll('input, select').forEach((e) => { e.disabled = on; });
		lock(true);
		dom.content(box, E('p', { 'class': 'spinning' }, _('Starting…')));
		return callImageRoll(image, from || undefined, names.length ? names.join(' ') : undefined, batch || undefined).then((res) => {
			logic.checkReply(res, 'job');
			const title = from ? _('Rolling %s to the nodes on %s').format(image, from)
				: _('Rolling %s to %s').format(image, names.join(', '));
			/* the Roll button stays busy, and the form locked, until the roll ends */
			return widgets.followJob(box, res.job, title, (j) => {
				lock(false);
				widgets.notify((j.state == 'done')
					? _('Every node is running %s.').format(image)
					: _('The roll of %s stopped: %s').format(image, j.message), (j.state == 'done') ? 'info' : 'error');
				uci.unload('rpinet');
				return Promise.all([ uci.load('rpinet'), this.refresh() ]);
			}, (job) => this.renderRollNodes(job));
		}).catch((err) => {
			lock(false);
			dom.content(box, widgets.error(_('Could not start the roll: %s').format(logic.describeError(err))));
		});
	},

	/* each node of a roll: its state, its boot on the new image, and Roll back once the roll ended */
	renderRollNodes(job) {
		const rows = logic.rollRows(job),
		    off = this.writable() ? null : true;

		if (!rows.length)
			return E('em', {}, _('Choosing the nodes…'));

		return E('table', { 'class': 'table', 'id': 'rpinet-roll-nodes-progress' }, [
			E('tr', { 'class': 'tr table-titles' }, [
				E('th', { 'class': 'th' }, _('Node')), E('th', { 'class': 'th' }, _('State')), E('th', { 'class': 'th cbi-section-actions' }, '')
			])
		].concat(rows.map((r) => E('tr', {
			'class': 'tr', 'data-node': r.name, 'data-state': r.state
		}, [
			E('td', { 'class': 'td', 'data-title': _('Node') }, E('strong', {}, widgets.text(r.name))),
			E('td', { 'class': 'td', 'data-title': _('State'), 'style': widgets.WRAP }, [
				widgets.label(r.look, r.text),
				r.error ? E('div', { 'class': 'rpinet-roll-error' }, widgets.text(r.error)) : '',
				r.hint ? E('div', { 'class': 'cbi-value-description' }, widgets.text(r.hint)) : '',
				r.steps ? widgets.timeline(r.steps) : ''
			]),
			E('td', { 'class': 'td cbi-section-actions' }, r.canRollBack ? E('button', {
				'class': 'cbi-button cbi-button-negative',
				'data-rollback': r.name,
				'disabled': off,
				'title': _('Put %s back on the root the roll kept for it').format(r.name),
				'click': ui.createHandlerFn(this, 'handleRollback', r.name)
			}, _('Roll back')) : '')
		]))));
	},

	/* node_rollback, confirmed in LuCI's modal: the root (and boot dir) the roll kept goes back in */
	handleRollback(name, ev) {
		const cell = ev.currentTarget.parentNode,
		    table = document.getElementById('rpinet-roll-nodes-progress'),
		    modal = table ? table.closest('.modal') : null,
		    /* the confirmation replaces the roll's modal; it comes back after */
		    saved = modal ? Array.prototype.slice.call(modal.childNodes) : null,
		    title = modal && modal.querySelector('h4') ? modal.querySelector('h4').textContent : '';
		return actions.rollback(name, null).then((done) => {
			if (saved) {
				ui.showModal(title, saved.slice(1), 'cbi-modal');
			}
			if (done) {
				dom.content(cell, E('em', {}, _('rolled back')));
				uci.unload('rpinet');
				return Promise.all([ uci.load('rpinet'), this.refresh() ]);
			}
		});
	},

	/* image_import from an address or a file; the job's progress in the import box */
	startImport(args, title, boxId) {
		const box = document.getElementById(boxId || 'rpinet-import-job');

		dom.content(box, E('p', { 'class': 'spinning' }, widgets.text(_('Starting the import of %s…').format(args.name))));

		return callImageImport(args.path, args.name, args.url, args.sha256).then((res) => {
			logic.checkReply(res, 'job');
			/* the button that started it stays busy until the import ends */
			return widgets.followJob(box, res.job, title, (j) => {
				if (j.state == 'done')
					widgets.notify(_('Image %s imported.').format(args.name), 'info');
				else
					widgets.notify(_('Import of %s failed: %s').format(args.name, j.message), 'error');
				return this.refresh();
			});
		}).catch((err) => {
			dom.content(box, widgets.error(_('Could not import: %s').format(logic.describeError(err))));
		});
	},

	/* one click in the list: its address and its checksum (of the download, else of the .img) */
	handleCatalogImport(row) {
		return this.startImport({ url: row.url, name: row.imageName, sha256: row.sha256 || undefined },
			_('Importing %s from %s').format(row.name, row.url), 'rpinet-catalog-job');
	},

	handleImport(map, data) {
		const box = document.getElementById('rpinet-import-job');

		return map.save(null, true).then(() => {
			const d = data.import,
			    url = (d.source == 'url') ? d.url : '',
			    sha256 = (d.source == 'url') ? d.sha256 : '',
			    path = (d.source == 'file') ? d.path : '',
			    name = d.name || logic.imageNameFromPath(url || path);
			let bad = (d.source == 'file') ? logic.validateImagePath(path) : logic.validateUrl(url);
			if (bad === true)
				bad = logic.validateSha256(sha256);
			if (bad === true)
				bad = logic.validateImageName(name);
			if (bad !== true)
				throw new Error(bad);

			return this.startImport({ path: path || undefined, name: name, url: url || undefined, sha256: sha256 || undefined },
				_('Importing %s from %s').format(name, url || path));
		}).catch((err) => {
			dom.content(box, widgets.error(err
				? _('Could not import: %s').format(logic.describeError(err))
				: _('Some values are invalid; see the highlighted fields.')));
		});
	},

	render([ images, catalog, , canWrite ]) {
		this.canWrite = canWrite;
		const writable = this.writable(),
		    off = writable ? null : true;

		this.images = images;
		this.catalogReply = catalog;

		const data = { 'import': { source: 'url', url: '', sha256: '', path: '', name: '' } },
		    m = new form.JSONMap(data, null, null),
		    s = m.section(form.NamedSection, 'import', 'import', _('Import from an address or a file'),
			_('An image at an http(s) address, streamed by the router and unpacked as it arrives, or a .img, .img.xz or .img.gz file already in the storage. Its boot and root partitions are unpacked once; nodes are then built from it in seconds.'));
		let o;

		m.readonly = !writable;

		o = s.option(form.ListValue, 'source', _('From'));
		o.value('url', _('Web address'));
		o.value('file', _('File on the router'));

		o = s.option(form.Value, 'url', _('Address'), _('http:// or https://, e.g. a .img.xz from downloads.raspberrypi.com'));
		o.depends('source', 'url');
		/* empty is not wrong until Import is pressed (LuCI checks a field as it is drawn) */
		o.validate = (sid, v) => (v == '') ? true : logic.validateUrl(v);

		o = s.option(form.Value, 'sha256', _('SHA-256'), _('Optional: of the download or of the .img inside; the import fails unless it matches.'));
		o.depends('source', 'url');
		o.validate = (sid, v) => logic.validateSha256(v);

		o = s.option(form.Value, 'path', _('Image file'), _('Absolute path on the router, e.g. /mnt/rpinet/2024-11-19-raspios-bookworm-arm64-lite.img.xz'));
		o.placeholder = '/mnt/rpinet/raspios-lite.img.xz';
		o.depends('source', 'file');
		o.validate = (sid, v) => (v == '') ? true : logic.validateImagePath(v);

		o = s.option(form.Value, 'name', _('Image name'), _('Optional; taken from the file name when empty.'));
		o.validate = (sid, v) => (v == '') ? true : logic.validateImageName(v);

		this.watchCatalog();

		/* an address or a checksum is read whole, not cut at the theme's 210 px */
		s.children.filter((c) => [ 'url', 'sha256', 'path' ].includes(c.option)).forEach((c) => widgets.wide(c));

		return m.render().then((formEl) => E('div', {}, [
			E('h2', {}, _('OS images')),
			E('div', { 'class': 'cbi-map-descr' }, _('The images nodes are provisioned from. An image a node was built from cannot be deleted.')),
			writable ? '' : E('div', { 'class': 'alert-message notice', 'id': 'rpinet-readonly' },
				_('You have read-only access: you can see the images but not import, roll or delete them.')),
			E('div', { 'class': 'cbi-section' }, [
				E('h3', {}, _('Imported images')),
				E('div', { 'id': 'rpinet-images-box' }, this.renderList(images))
			]),
			E('div', { 'class': 'cbi-section' }, [
				E('h3', {}, _('Raspberry Pi OS')),
				E('div', { 'id': 'rpinet-catalog-box' }, this.renderCatalog()),
				/* an import started from the list shows its progress here, under the list */
				E('div', { 'id': 'rpinet-catalog-job' })
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
