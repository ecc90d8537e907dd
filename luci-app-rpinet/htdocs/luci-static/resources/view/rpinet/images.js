'use strict';
'require view';
'require dom';
'require poll';
'require rpc';
'require ui';
'require form';
'require rpinet.logic as logic';

/*
 * Services → Raspberry Pi netboot → Images: the OS images nodes are built from. Import one
 * from a .img / .img.xz / .img.gz file on the SSD (a background job with a progress bar), delete one
 * no node uses.
 */

var callImages = rpc.declare({
	object: 'rpinet',
	method: 'images',
	expect: { images: [] }
});

var callImageImport = rpc.declare({
	object: 'rpinet',
	method: 'image_import',
	params: [ 'path', 'name' ]
});

/* Not in SPEC §4 yet: the backend must add image_delete {name} (refusing images in use). */
var callImageDelete = rpc.declare({
	object: 'rpinet',
	method: 'image_delete',
	params: [ 'name' ]
});

var callJob = rpc.declare({
	object: 'rpinet',
	method: 'job',
	params: [ 'id' ]
});

return view.extend({
	load: function() {
		return callImages();
	},

	renderList: function(images) {
		var rows = logic.imageRows(images);

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
			])
		].concat(rows.map(L.bind(function(r) {
			return E('tr', { 'class': 'tr', 'data-image': r.name }, [
				E('td', { 'class': 'td', 'data-title': _('Name') }, E('strong', {}, r.name)),
				E('td', { 'class': 'td', 'data-title': _('OS') }, r.os),
				E('td', { 'class': 'td', 'data-title': _('Size') }, r.size),
				E('td', { 'class': 'td', 'data-title': _('Imported') }, r.created),
				E('td', { 'class': 'td', 'data-title': _('Used by') }, r.usedBy || E('em', {}, _('no node'))),
				E('td', { 'class': 'td cbi-section-actions' },
					E('button', {
						'class': 'cbi-button cbi-button-remove',
						'title': r.deletable ? _('Delete image %s').format(r.name) : r.deleteReason,
						'disabled': r.deletable ? null : true,
						'click': ui.createHandlerFn(this, 'handleDelete', r.name)
					}, _('Delete')))
			]);
		}, this))));
	},

	refresh: function() {
		return callImages().then(L.bind(function(images) {
			dom.content(document.getElementById('rpinet-images-box'), this.renderList(images));
		}, this));
	},

	handleDelete: function(name) {
		if (!confirm(_('Delete image %s from the SSD?').format(name)))
			return;
		return callImageDelete(name).then(L.bind(function(res) {
			if (typeof(res) == 'number' || !res || res.error)
				throw new Error((res && res.error) || _('the router has no image_delete method (ubus code %s)').format(res));
			ui.addNotification(null, E('p', {}, _('Image %s deleted.').format(name)), 'info');
			return this.refresh();
		}, this)).catch(function(err) {
			ui.addNotification(null, E('p', {}, _('Could not delete %s: %s').format(name, err.message || err)), 'error');
		});
	},

	handleImport: function(map, data) {
		var box = document.getElementById('rpinet-import-job');

		return map.save(null, true).then(L.bind(function() {
			var path = data.import.path,
			    name = data.import.name || logic.imageNameFromPath(path),
			    bad = logic.validateImagePath(path);
			if (bad === true)
				bad = logic.validateImageName(name);
			if (bad !== true)
				throw new Error(bad);

			dom.content(box, E('p', { 'class': 'spinning' }, _('Starting the import of %s…').format(name)));

			return callImageImport(path, name).then(L.bind(function(res) {
				if (!res || res.error || !res.job)
					throw new Error((res && res.error) || _('image_import started no job'));

				var step = L.bind(function() {
					return callJob(res.job).then(L.bind(function(job) {
						var j = logic.jobView(job);
						dom.content(box, E('div', { 'class': 'rpinet-job', 'data-state': j.state }, [
							E('p', {}, _('Importing %s from %s').format(name, path)),
							E('div', { 'class': 'cbi-progressbar', 'title': j.label },
								E('div', { 'style': 'width:%d%%'.format(j.percent) })),
							E('small', {}, [ j.label, j.detail ? ' · ' + j.detail : '', j.message ? ' · ' + j.message : '' ])
						]));
						if (j.finished) {
							poll.remove(step);
							if (j.state == 'done')
								ui.addNotification(null, E('p', {}, _('Image %s imported.').format(name)), 'info');
							else
								ui.addNotification(null, E('p', {}, _('Import of %s failed: %s').format(name, j.message)), 'error');
							return this.refresh();
						}
					}, this));
				}, this);
				/* the first step runs within a second (at once when polling starts) */
				poll.add(step, 1);
			}, this));
		}, this)).catch(function(err) {
			dom.content(box, E('div', { 'class': 'alert-message error' }, err
				? _('Could not import: %s').format(err.message || err)
				: _('Some values are invalid; see the highlighted fields.')));
		});
	},

	render: function(images) {
		var data = { 'import': { path: '', name: '' } },
		    m = new form.JSONMap(data, null, null),
		    s = m.section(form.NamedSection, 'import', 'import', _('Import an image'),
			_('Copy a Raspberry Pi OS image (.img, .img.xz or .img.gz, e.g. downloaded to the SSD with wget) into the image store. Its boot and root partitions are unpacked once; nodes are then built from it in seconds.')),
		    o;

		o = s.option(form.Value, 'path', _('Image file'), _('Absolute path on the router, e.g. /mnt/rpinet/2024-11-19-raspios-bookworm-arm64-lite.img.xz'));
		o.placeholder = '/mnt/rpinet/raspios-lite.img.xz';
		/* checked on Import (an empty field is not marked red before anything is typed) */
		o.validate = function(sid, v) { return logic.validateImagePath(v); };

		o = s.option(form.Value, 'name', _('Image name'), _('Optional; taken from the file name when empty.'));
		o.validate = function(sid, v) { return (v == '') ? true : logic.validateImageName(v); };

		return m.render().then(L.bind(function(formEl) {
			return E('div', {}, [
				E('h2', {}, _('OS images')),
				E('div', { 'class': 'cbi-map-descr' }, _('The images nodes are provisioned from. An image a node was built from cannot be deleted.')),
				E('div', { 'class': 'cbi-section' }, [
					E('h3', {}, _('Imported images')),
					E('div', { 'id': 'rpinet-images-box' }, this.renderList(images))
				]),
				formEl,
				E('div', { 'class': 'cbi-page-actions' },
					E('button', {
						'class': 'cbi-button cbi-button-action important',
						'id': 'rpinet-import',
						'click': ui.createHandlerFn(this, 'handleImport', m, data)
					}, _('Import'))),
				E('div', { 'id': 'rpinet-import-job' })
			]);
		}, this));
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
