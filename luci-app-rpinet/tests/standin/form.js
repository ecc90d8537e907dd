'use strict';
'require baseclass';
'require dom';
'require ui';
'require uci';
'require rpc';

/*
 * STAND-IN for LuCI's form.js (luci-base), written for the luci-app-rpinet browser tests,
 * not LuCI's code. It re-implements the parts the rpinet views use, after LuCI's model:
 *
 *  - Map(config, title, description) over uci, JSONMap(data) over a plain object; render()
 *    loads and renders .cbi-map; save() parses every visible option, refuses the save when
 *    a widget is invalid ("Option "%s" contains an invalid input value."), writes the values
 *    through option.write(), then saves the data (uci.save() sends them to rpcd);
 *  - section.tab(name, title, description) and section.taboption(name, ...): a NamedSection
 *    draws its options in one pane per tab (div[data-tab][data-tab-title] inside
 *    .cbi-section-node-tabbed) and ui.tabs.initTabGroup() makes the tab menu;
 *  - NamedSection, TypedSection, GridSection (a table of the sections of a type; the options
 *    not `modalonly` are columns — `editable` ones as widgets, the others as textvalue();
 *    Edit and Add open a modal Map with the options not `modalonly === false`; a named
 *    GridSection has a name field + Add button; Delete removes the section);
 *  - Value, ListValue, Flag, DummyValue with title, description, default, rmempty,
 *    optional, placeholder, validate(section_id, value), depends(option, value), write(),
 *    textvalue(), value(key, label).
 */

var callSessionAccess = rpc.declare({
	object: 'session',
	method: 'access',
	params: [ 'scope', 'object', 'function' ],
	expect: { 'access': false }
});

/* ---- data sources ---- */

var JSONConfig = baseclass.extend({
	__init__: function(data) {
		var i = 0;
		this.data = {};
		for (var sid in data) {
			if (!L.isObject(data[sid]))
				continue;
			this.data[sid] = Object.assign(data[sid], { '.name': sid, '.type': sid, '.anonymous': false, '.index': i++ });
		}
	},
	load: function() { return Promise.resolve(this.data); },
	save: function() { return Promise.resolve(); },
	get: function(conf, sid, opt) {
		if (sid == null || !this.data[sid])
			return null;
		if (opt == null)
			return this.data[sid];
		var v = this.data[sid][opt];
		return (v == null) ? null : (Array.isArray(v) ? v : String(v));
	},
	set: function(conf, sid, opt, val) {
		if (!this.data[sid] || opt == null || opt.charAt(0) == '.')
			return;
		if (val == null)
			delete this.data[sid][opt];
		else
			this.data[sid][opt] = Array.isArray(val) ? val : String(val);
	},
	unset: function(conf, sid, opt) { return this.set(conf, sid, opt, null); },
	sections: function(conf, type) {
		var rv = [];
		for (var sid in this.data)
			if (type == null || this.data[sid]['.type'] == type)
				rv.push(this.data[sid]);
		return rv;
	},
	add: function(conf, type, name) {
		var sid = name || type + Object.keys(this.data).length;
		this.data[sid] = { '.name': sid, '.type': type, '.anonymous': !name, '.index': Object.keys(this.data).length };
		return sid;
	},
	remove: function(conf, sid) { delete this.data[sid]; }
});

/* ---- maps ---- */

var CBINode = baseclass.extend({
	initNode: function(title, description) {
		this.title = title || '';
		this.description = description || '';
		this.children = [];
	},
	append: function(o) { this.children.push(o); },
	stripTags: function(s) {
		if (typeof(s) == 'string' && !/[<>]/.test(s))
			return s;
		var d = E('div', {}, s);
		return d.textContent || '';
	},
	titleFn: function(attr) {
		var v = this[attr], args = Array.prototype.slice.call(arguments, 1);
		if (typeof(v) == 'function')
			v = v.apply(this, args);
		return (v == null || v === '') ? null : String(v);
	}
});

var CBIMap = CBINode.extend({
	__name__: 'CBI.Map',
	__init__: function(config, title, description) {
		this.initNode(title, description);
		this.config = config;
		this.data = uci;
	},

	section: function(cls) {
		var obj = cls.instantiate([ this ].concat(Array.prototype.slice.call(arguments, 1)));
		this.append(obj);
		return obj;
	},

	/*
	 * As LuCI: a uci Map whose readonly is not set asks rpcd (session.access) whether the
	 * session may write the config; without write access the map is read-only and every
	 * widget, Add, Delete and the modal's Save are disabled.
	 */
	load: function() {
		var self = this,
		    checkAcl = (!(this instanceof CBIJSONMap) && this.readonly == null);
		return Promise.all([
			checkAcl ? callSessionAccess('uci', this.config, 'write') : true,
			this.data === uci && !uci.loaded[this.config] ? uci.load(this.config) : null
		]).then(function(res) {
			if (res[0] === false)
				self.readonly = true;
			return Promise.all(self.children.map(function(s) { return s.load(); }));
		});
	},

	findElements: function(a, b) {
		var q = (b === undefined) ? a : '[%s="%s"]'.format(a, b);
		return this.root ? this.root.querySelectorAll(q) : [];
	},

	findElement: function() {
		var r = this.findElements.apply(this, arguments);
		return r.length ? r[0] : null;
	},

	render: function() {
		return this.load().then(L.bind(this.renderContents, this));
	},

	renderContents: function() {
		var self = this;
		this.root = this.root || E('div', { 'id': 'cbi-%s'.format(this.config), 'class': 'cbi-map' });
		dom.bindClassInstance(this.root, this);
		return Promise.all(this.children.map(function(s) { return s.render(); })).then(function(nodes) {
			dom.content(self.root, null);
			if (self.title)
				self.root.appendChild(E('h2', { 'name': 'content' }, self.title));
			if (self.description)
				self.root.appendChild(E('div', { 'class': 'cbi-map-descr' }, self.description));
			dom.append(self.root, nodes);
			if (!self.root.__depsBound) {
				self.root.addEventListener('widget-change', function() { self.checkDepends(); });
				self.root.__depsBound = true;
			}
			self.checkDepends();
			return self.root;
		});
	},

	/* shows or hides each option per its depends() */
	checkDepends: function() {
		this.children.forEach(function(s) { s.checkDepends(); });
	},

	lookupValue: function(sid, optname) {
		var el = this.findElement('id', 'cbid.%s.%s.%s'.format(this.config, sid, optname));
		return el ? dom.callClassMethod(el, 'getValue') : this.data.get(this.config, sid, optname);
	},

	parse: function() {
		return Promise.all(this.children.map(function(s) { return s.parse(); }));
	},

	save: function(cb, silent) {
		var self = this;
		this.checkDepends();
		return this.parse()
			.then(cb)
			.then(function() { return self.data.save(); })
			.then(function() { return self.load(); })
			.catch(function(e) {
				if (!silent)
					ui.showModal(_('Save error'), [
						E('p', {}, [ _('An error occurred while saving the form:') ]),
						E('p', {}, [ E('em', { 'style': 'white-space:pre-wrap' }, [ e ? e.message : '' ]) ]),
						E('div', { 'class': 'right' }, [ E('button', { 'class': 'cbi-button', 'click': ui.hideModal }, [ _('Dismiss') ]) ])
					]);
				return Promise.reject(e);
			})
			/* as LuCI: redrawn after a save only; a refused one keeps what was typed */
			.then(function() { return self.renderContents(); });
	},

	reset: function() {
		return this.renderContents();
	}
});

var CBIJSONMap = CBIMap.extend({
	__name__: 'CBI.JSONMap',
	__init__: function(data, title, description) {
		CBIMap.prototype.__init__.call(this, 'json', title, description);
		this.data = new JSONConfig(data);
	}
});

/* ---- sections ---- */

var CBIAbstractSection = CBINode.extend({
	__init__: function(map, sectiontype, title, description) {
		this.initNode(title, description);
		this.map = map;
		this.config = map.config;
		this.sectiontype = sectiontype;
		this.addremove = false;
		this.anonymous = false;
	},

	option: function(cls, option, title, description) {
		var obj = cls.instantiate([ this.map, this, option, title, description ]);
		this.append(obj);
		return obj;
	},

	tab: function(name, title, description) {
		this.tabs = this.tabs || {};
		this.tab_names = this.tab_names || [];
		this.tab_names.push(name);
		this.tabs[name] = { title: title, description: description };
	},

	taboption: function(tabName) {
		if (!this.tabs || !this.tabs[tabName])
			throw new Error('Associated tab not declared');
		var obj = this.option.apply(this, Array.prototype.slice.call(arguments, 1));
		obj.tab = tabName;
		return obj;
	},

	/* the option nodes of one section, in their tab panes when the section has tabs */
	groupByTab: function(nodes) {
		var self = this;
		if (!this.tab_names)
			return nodes;
		var wrap = E('div', { 'class': 'cbi-section-node cbi-section-node-tabbed' }, this.tab_names.map(function(t) {
			return E('div', { 'data-tab': t, 'data-tab-title': self.tabs[t].title }, [
				self.tabs[t].description ? E('div', { 'class': 'cbi-tab-descr' }, self.tabs[t].description) : ''
			].concat(nodes.filter(function(n, i) { return self.children[i].tab == t; })));
		}));
		ui.tabs.initTabGroup(wrap.childNodes);
		return wrap;
	},

	load: function() {
		var self = this;
		this.cfgsections().forEach(function(sid) {
			self.children.forEach(function(o) { o.cfgvalue(sid, o.load(sid)); });
		});
		return Promise.resolve();
	},

	parse: function() {
		var tasks = [], self = this;
		this.cfgsections().forEach(function(sid) {
			self.children.forEach(function(o) {
				if (self.parseOption(o))
					tasks.push(o.parse(sid));
			});
		});
		return Promise.all(tasks);
	},

	parseOption: function() { return true; },

	checkDepends: function() {
		var self = this;
		this.cfgsections().forEach(function(sid) {
			self.children.forEach(function(o) {
				var field = self.map.findElement('data-field', o.cbid(sid));
				if (field)
					field.classList.toggle('hidden', !o.checkDepends(sid));
			});
		});
	},

	renderOptions: function(sid) {
		return Promise.all(this.children.map(function(o) { return o.render(sid); }));
	}
});

var CBINamedSection = CBIAbstractSection.extend({
	__name__: 'CBI.NamedSection',
	__init__: function(map, section_id, sectiontype, title, description) {
		CBIAbstractSection.prototype.__init__.call(this, map, sectiontype, title, description);
		this.section = section_id;
	},

	cfgsections: function() { return [ this.section ]; },

	render: function() {
		var self = this;
		return this.renderOptions(this.section).then(function(nodes) {
			return E('div', { 'class': 'cbi-section', 'id': 'cbi-%s-%s'.format(self.config, self.section) }, [
				self.title ? E('h3', {}, self.title) : '',
				self.description ? E('div', { 'class': 'cbi-section-descr' }, self.description) : '',
				E('div', { 'class': 'cbi-section-node', 'data-section-id': self.section }, self.groupByTab(nodes))
			]);
		});
	}
});

var CBITypedSection = CBIAbstractSection.extend({
	__name__: 'CBI.TypedSection',

	cfgsections: function() {
		return this.map.data.sections(this.config, this.sectiontype).map(function(s) { return s['.name']; });
	},

	handleAdd: function(ev, name) {
		this.map.data.add(this.config, this.sectiontype, name);
		return this.map.save(null, true);
	},

	handleRemove: function(sid) {
		this.map.data.remove(this.config, sid);
		return this.map.save(null, true);
	},

	render: function() {
		var self = this, sids = this.cfgsections();
		return Promise.all(sids.map(function(sid) { return self.renderOptions(sid); })).then(function(nodes) {
			return E('div', { 'class': 'cbi-section' }, [
				self.title ? E('h3', {}, self.title) : '',
				self.description ? E('div', { 'class': 'cbi-section-descr' }, self.description) : ''
			].concat(nodes.map(function(n, i) {
				return E('div', { 'class': 'cbi-section-node', 'data-section-id': sids[i] }, n);
			})));
		});
	}
});

var CBIGridSection = CBITypedSection.extend({
	__name__: 'CBI.GridSection',

	parseOption: function(o) { return o.editable && !o.modalonly; },

	renderSectionAdd: function() {
		if (!this.addremove)
			return E([]);
		var self = this,
		    title = this.titleFn('addbtntitle') || _('Add'),
		    el = E('div', { 'class': 'cbi-section-create cbi-tblsection-create' });

		if (this.anonymous) {
			el.appendChild(E('button', { 'class': 'cbi-button cbi-button-add', 'title': title,
				'disabled': this.map.readonly || null,
				'click': ui.createHandlerFn(this, 'handleAdd') }, title));
			return el;
		}

		var nameEl = E('input', { 'type': 'text', 'class': 'cbi-section-create-name', 'placeholder': _('Name'),
			'disabled': this.map.readonly || null });
		dom.append(el, [
			E('div', {}, nameEl),
			E('button', {
				'class': 'cbi-button cbi-button-add', 'title': title,
				'disabled': this.map.readonly || null,
				'click': ui.createHandlerFn(this, function(ev) {
					if (nameEl.classList.contains('cbi-input-invalid'))
						return;
					return self.handleAdd(ev, nameEl.value);
				})
			}, title)
		]);
		/* LuCI checks section names with its 'uciname' datatype */
		nameEl.addEventListener('keyup', function() {
			nameEl.classList.toggle('cbi-input-invalid', nameEl.value != '' && !/^[a-zA-Z0-9_]+$/.test(nameEl.value));
		});
		return el;
	},

	handleAdd: function(ev, name) {
		var sid = this.map.data.add(this.config, this.sectiontype, name);
		this.addedSection = sid;
		return this.renderMoreOptionsModal(sid);
	},

	handleModalCancel: function() {
		if (this.addedSection != null) {
			this.map.data.remove(this.config, this.addedSection);
			this.addedSection = null;
		}
		ui.hideModal();
	},

	handleModalSave: function(modalMap) {
		var self = this;
		return modalMap.save(null, true)
			.then(function() { self.addedSection = null; return self.map.load(); })
			.then(function() { return self.map.reset(); })
			.then(function() { ui.hideModal(); })
			.catch(function() {});
	},

	renderMoreOptionsModal: function(sid) {
		var parent = this.map,
		    m = new CBIMap(this.map.config, null, null),
		    s = m.section(CBINamedSection, sid, this.sectiontype),
		    title = this.titleFn('modaltitle', sid) || '%s - %s'.format(parent.title, sid),
		    self = this;

		m.data = parent.data;
		m.readonly = parent.readonly;
		this.children.forEach(function(o1) {
			if (o1.modalonly === false)
				return;
			var o2 = s.option(o1.constructor, o1.option, o1.title, o1.description);
			for (var k in o1)
				if (Object.prototype.hasOwnProperty.call(o1, k) &&
				    [ 'map', 'section', 'option', 'title', 'description', 'data' ].indexOf(k) == -1)
					o2[k] = o1[k];
		});

		return m.render().then(function(nodes) {
			ui.showModal(title, [
				nodes,
				E('div', { 'class': 'right' }, [
					E('button', { 'class': 'cbi-button', 'click': ui.createHandlerFn(self, 'handleModalCancel', m) }, _('Dismiss')), ' ',
					E('button', { 'class': 'cbi-button cbi-button-positive important',
						'disabled': m.readonly || null,
						'click': ui.createHandlerFn(self, 'handleModalSave', m) }, _('Save'))
				])
			], 'cbi-modal');
		});
	},

	render: function() {
		var self = this, sids = this.cfgsections(),
		    cols = this.children.filter(function(o) { return !o.modalonly; });

		return Promise.all(sids.map(function(sid) {
			return Promise.all(cols.map(function(o) {
				return o.editable ? o.render(sid, true) : self.renderTextValue(sid, o);
			}));
		})).then(function(rows) {
			var table = E('table', { 'class': 'table cbi-section-table' }, [
				E('tr', { 'class': 'tr cbi-section-table-titles named' }, [
					E('th', { 'class': 'th cbi-section-table-cell' }, _('Name'))
				].concat(cols.map(function(o) {
					return E('th', { 'class': 'th cbi-section-table-cell', 'data-type': o.__name__ }, o.title);
				})).concat([ E('th', { 'class': 'th cbi-section-table-cell cbi-section-actions' }) ]))
			].concat(rows.map(function(cells, i) {
				return E('tr', { 'class': 'tr cbi-section-table-row', 'data-sid': sids[i], 'data-section-id': sids[i] }, [
					E('td', { 'class': 'td cbi-value-field', 'data-title': _('Name') }, E('strong', {}, sids[i]))
				].concat(cells).concat([
					E('td', { 'class': 'td cbi-section-table-cell nowrap cbi-section-actions' }, E('div', {}, [
						E('button', { 'class': 'cbi-button cbi-button-edit', 'title': _('Edit'),
							'click': ui.createHandlerFn(self, 'renderMoreOptionsModal', sids[i]) }, _('Edit')),
						self.addremove ? E('button', { 'class': 'cbi-button cbi-button-remove', 'title': _('Delete'),
							'disabled': self.map.readonly || null,
							'click': ui.createHandlerFn(self, 'handleRemove', sids[i]) }, _('Delete')) : ''
					]))
				]));
			})));

			if (!sids.length)
				table.appendChild(E('tr', { 'class': 'tr cbi-section-table-row placeholder' },
					E('td', { 'class': 'td' }, self.renderSectionPlaceholder())));

			return E('div', { 'class': 'cbi-section cbi-tblsection', 'id': 'cbi-%s-%s'.format(self.config, self.sectiontype) }, [
				self.title ? E('h3', {}, self.title) : '',
				self.description ? E('div', { 'class': 'cbi-section-descr' }, self.description) : '',
				table,
				self.renderSectionAdd()
			]);
		});
	},

	renderSectionPlaceholder: function() {
		return E('em', {}, _('This section contains no values yet'));
	},

	renderTextValue: function(sid, o) {
		var v = o.textvalue(sid);
		return E('td', { 'class': 'td cbi-value-field', 'data-title': this.stripTags(o.title), 'data-name': o.option },
			(v != null && v !== '') ? v : E('em', {}, _('none')));
	}
});

/* ---- values ---- */

var CBIAbstractValue = CBINode.extend({
	__init__: function(map, section, option, title, description) {
		this.initNode(title, description);
		this.map = map;
		this.section = section;
		this.option = option;
		this.config = map.config;
		this.deps = [];
		this.rmempty = true;
		this.optional = false;
		this.default = null;
	},

	depends: function(field, value) {
		var d = {};
		if (typeof(field) == 'string')
			d[field] = value;
		else
			d = field;
		this.deps.push(d);
	},

	checkDepends: function(sid) {
		if (!this.deps.length)
			return true;
		var map = this.map;
		return this.deps.some(function(d) {
			return Object.keys(d).every(function(k) { return String(map.lookupValue(sid, k) || '') === String(d[k]); });
		});
	},

	cbid: function(sid) {
		return 'cbid.%s.%s.%s'.format(this.config, sid, this.option);
	},

	load: function(sid) {
		return this.map.data.get(this.config, sid, this.option);
	},

	cfgvalue: function(sid, v) {
		if (arguments.length == 2) {
			this.data = this.data || {};
			this.data[sid] = v;
		}
		return this.data ? this.data[sid] : null;
	},

	/* as LuCI: the raw value, HTML-escaped; a ListValue shows its key, not the choice's label */
	textvalue: function(sid) {
		var v = this.cfgvalue(sid);
		if (v == null)
			v = this.default;
		if (Array.isArray(v))
			v = v.join(' ');
		return (v != null) ? '%h'.format(v) : null;
	},

	formvalue: function(sid) {
		var el = this.map.findElement('id', this.cbid(sid));
		return el ? dom.callClassMethod(el, 'getValue') : null;
	},

	isActive: function(sid) {
		var f = this.map.findElement('data-field', this.cbid(sid));
		return f != null && !f.classList.contains('hidden');
	},

	isValid: function(sid) {
		var el = this.map.findElement('id', this.cbid(sid));
		return el ? dom.callClassMethod(el, 'triggerValidation') : true;
	},

	validate: function() { return true; },

	parse: function(sid) {
		var active = this.isActive(sid), cval = this.cfgvalue(sid),
		    fval = active ? this.formvalue(sid) : null;

		if (active && !this.isValid(sid)) {
			var t = this.stripTags(this.title).trim();
			return Promise.reject(new TypeError(_('Option "%s" contains an invalid input value.').format(t || this.option)));
		}
		if (fval != null && fval !== '') {
			if (String(cval) !== String(fval))
				return Promise.resolve(this.write(sid, fval));
		}
		else if (this.rmempty || this.optional || !active) {
			return Promise.resolve(this.remove(sid));
		}
		return Promise.resolve();
	},

	write: function(sid, v) {
		return this.map.data.set(this.config, sid, this.option, v);
	},

	remove: function(sid) {
		return this.map.data.unset(this.config, sid, this.option);
	},

	value: function(key, label) {
		this.keylist = this.keylist || [];
		this.vallist = this.vallist || [];
		this.keylist.push(String(key));
		this.vallist.push((label != null) ? label : String(key));
	},

	render: function(sid, in_table) {
		var self = this;
		return Promise.resolve(this.renderWidget(sid, this.cfgvalue(sid))).then(function(widget) {
			var field;
			if (in_table)
				return E('td', { 'class': 'td cbi-value-field', 'data-title': self.stripTags(self.title), 'data-name': self.option },
					E('div', { 'id': 'cbi-%s-%s-%s'.format(self.config, sid, self.option), 'data-field': self.cbid(sid) }, widget));

			field = E('div', { 'class': 'cbi-value', 'id': 'cbi-%s-%s-%s'.format(self.config, sid, self.option),
				'data-field': self.cbid(sid), 'data-name': self.option }, [
				E('label', { 'class': 'cbi-value-title', 'for': 'widget.' + self.cbid(sid) }, self.title),
				E('div', { 'class': 'cbi-value-field' }, [
					widget,
					self.description ? E('div', { 'class': 'cbi-value-description' }, self.description) : ''
				])
			]);
			dom.bindClassInstance(field, self);
			return field;
		});
	},

	widgetOptions: function(sid) {
		return {
			id: this.cbid(sid),
			optional: this.optional || this.rmempty,
			placeholder: this.placeholder,
			disabled: (this.readonly != null) ? this.readonly : this.map.readonly,
			validate: L.bind(this.validate, this, sid)
		};
	}
});

var CBIValue = CBIAbstractValue.extend({
	__name__: 'CBI.Value',
	renderWidget: function(sid, cfgvalue) {
		var v = (cfgvalue != null) ? cfgvalue : this.default;
		return new ui.Textfield(v, Object.assign(this.widgetOptions(sid), { password: this.password })).render();
	}
});

var CBIListValue = CBIValue.extend({
	__name__: 'CBI.ListValue',
	renderWidget: function(sid, cfgvalue) {
		var choices = {}, v = (cfgvalue != null) ? cfgvalue : this.default;
		(this.keylist || []).forEach(function(k, i) { choices[k] = this.vallist[i]; }, this);
		return new ui.Select(v, choices, Object.assign(this.widgetOptions(sid), {
			sort: this.keylist, optional: this.optional })).render();
	}
});

var CBIFlagValue = CBIValue.extend({
	__name__: 'CBI.Flag',
	__init__: function() {
		CBIAbstractValue.prototype.__init__.apply(this, arguments);
		this.enabled = '1';
		this.disabled = '0';
		this.default = this.disabled;
	},
	renderWidget: function(sid, cfgvalue) {
		return new ui.Checkbox((cfgvalue != null) ? cfgvalue : this.default, {
			id: this.cbid(sid), value_enabled: this.enabled, value_disabled: this.disabled,
			disabled: (this.readonly != null) ? this.readonly : this.map.readonly }).render();
	},
	textvalue: function(sid) {
		var v = this.cfgvalue(sid);
		return (((v != null) ? v : this.default) == this.enabled) ? _('Yes') : _('No');
	},
	parse: function(sid) {
		if (!this.isActive(sid))
			return Promise.resolve(this.remove(sid));
		var f = this.formvalue(sid);
		if (f == this.default && this.rmempty)
			return Promise.resolve(this.remove(sid));
		return Promise.resolve(String(this.cfgvalue(sid)) !== String(f) ? this.write(sid, f) : null);
	}
});

/* a list option (uci list): its value is an array of strings */
var CBIDynamicList = CBIValue.extend({
	__name__: 'CBI.DynamicList',
	renderWidget: function(sid, cfgvalue) {
		var v = (cfgvalue != null) ? cfgvalue : this.default;
		return new ui.DynamicList(L.toArray(v), null, Object.assign(this.widgetOptions(sid), { optional: true })).render();
	},
	textvalue: function(sid) {
		return L.toArray(this.cfgvalue(sid)).join(', ');
	},
	parse: function(sid) {
		var active = this.isActive(sid),
		    fval = active ? (this.formvalue(sid) || []) : [],
		    cval = L.toArray(this.cfgvalue(sid));
		if (!active || !fval.length)
			return Promise.resolve(cval.length ? this.remove(sid) : null);
		return Promise.resolve(JSON.stringify(fval) !== JSON.stringify(cval) ? this.write(sid, fval) : null);
	}
});

var CBIDummyValue = CBIValue.extend({
	__name__: 'CBI.DummyValue',
	renderWidget: function(sid, cfgvalue) {
		var v = (cfgvalue != null) ? cfgvalue : this.default;
		return E('div', { 'id': this.cbid(sid) }, [ v ]);
	},
	parse: function() { return Promise.resolve(); },
	write: function() {},
	remove: function() {}
});

return baseclass.extend({
	Map: CBIMap,
	JSONMap: CBIJSONMap,
	AbstractSection: CBIAbstractSection,
	AbstractValue: CBIAbstractValue,
	TypedSection: CBITypedSection,
	GridSection: CBIGridSection,
	NamedSection: CBINamedSection,
	Value: CBIValue,
	ListValue: CBIListValue,
	Flag: CBIFlagValue,
	DynamicList: CBIDynamicList,
	DummyValue: CBIDummyValue
});
