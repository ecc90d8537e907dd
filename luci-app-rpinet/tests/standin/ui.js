'use strict';
'require baseclass';
'require dom';
'require uci';

/*
 * STAND-IN for LuCI's ui.js (luci-base), written for the luci-app-rpinet browser tests,
 * not LuCI's code. What the rpinet views and the form stand-in use, with LuCI's names,
 * markup classes and behaviour:
 *  - widgets Textfield, Select (a <select>, or LuCI's checkbox/radio group), Checkbox,
 *    Hiddenfield, Dropdown: a frame <div id="cbid..."> bound to the widget instance,
 *    getValue/setValue/isValid/triggerValidation, 'widget-change' events, and validation
 *    as LuCI's validation.js does it: an empty value is invalid unless the widget is
 *    optional, and the option's own validate() runs on every value, the empty one too;
 *    a refused value marks the input .cbi-input-invalid with the message as its title;
 *  - Dropdown: LuCI's div.cbi-dropdown with its ul of li[data-value], the chosen one
 *    [selected]; a click opens it, a click on an item chooses it, closes it and fires
 *    'cbi-dropdown-change' with detail.value {value, text, element} (single choice only);
 *  - tabs.initTabGroup: LuCI's tab menu (ul.cbi-tabmenu, li.cbi-tab / .cbi-tab-disabled)
 *    over the panes of a tabbed section, the first one shown ([data-tab-active]);
 *  - showModal / hideModal (#modal_overlay, body.modal-overlay-active), addNotification
 *    (an .alert-message at the top of #maincontent with a Dismiss button);
 *  - createHandlerFn: the bound click handler that greys the button out while the
 *    handler's promise runs;
 *  - changes.apply (uci apply) and the no-op tab helpers form uses.
 */

var UIElement = baseclass.extend({
	__name__: 'UIElement',

	getValue: function() {
		var i = this.node && this.node.querySelector('input:not([type="hidden"]), select, textarea');
		return i ? i.value : null;
	},

	setValue: function(value) {
		var i = this.node && this.node.querySelector('input:not([type="hidden"]), select, textarea');
		if (i)
			i.value = value;
	},

	isValid: function() {
		return (this.validState !== false);
	},

	triggerValidation: function() {
		if (typeof(this.vfunc) == 'function')
			this.vfunc();
		return this.isValid();
	},

	/* validation on the given events; the validator is LuCI's validate(section_id, value) */
	setUpdateEvents: function(target) {
		var self = this, opts = this.options || {},
		    events = Array.prototype.slice.call(arguments, 1);

		this.vfunc = function() {
			var value = self.getValue(), res = true;
			if (value == null)
				value = '';
			if (value === '' && !opts.optional)
				res = _('Expecting: %s').format(_('non-empty value'));
			else if (typeof(opts.validate) == 'function')
				res = opts.validate(value);
			self.validState = (res === true);
			target.classList.toggle('cbi-input-invalid', res !== true);
			if (res !== true)
				target.setAttribute('title', String(res));
			else
				target.removeAttribute('title');
			target.dispatchEvent(new CustomEvent(res === true ? 'validation-success' : 'validation-failure',
				{ bubbles: true, detail: { message: res } }));
		};

		events.forEach(function(ev) { target.addEventListener(ev, self.vfunc); });
		this.vfunc();
	},

	setChangeEvents: function(target) {
		var node = this.node;
		Array.prototype.slice.call(arguments, 1).forEach(function(ev) {
			target.addEventListener(ev, function() {
				node.dispatchEvent(new CustomEvent('widget-change', { bubbles: true }));
			});
		});
	},

	frame: function(inner) {
		this.node = E('div', { 'id': this.options.id }, inner);
		dom.bindClassInstance(this.node, this);
		return this.node;
	}
});

var UITextfield = UIElement.extend({
	__name__: 'UITextfield',
	__init__: function(value, options) {
		this.value = value;
		this.options = Object.assign({ optional: true }, options);
	},

	render: function() {
		var input = E('input', {
			'id': this.options.id ? 'widget.' + this.options.id : null,
			'name': this.options.name || this.options.id,
			'type': this.options.password ? 'password' : 'text',
			'class': this.options.password ? 'cbi-input-password' : 'cbi-input-text',
			'placeholder': this.options.placeholder,
			'disabled': this.options.disabled ? '' : null,
			'value': (this.value != null) ? this.value : ''
		});
		this.frame(input);
		this.setUpdateEvents(input, 'keyup', 'blur', 'input');
		this.setChangeEvents(input, 'change');
		return this.node;
	}
});

var UISelect = UIElement.extend({
	__name__: 'UISelect',
	__init__: function(value, choices, options) {
		this.value = value;
		this.choices = choices || {};
		this.options = Object.assign({ optional: true, sort: null }, options);
	},

	render: function() {
		if (this.options.widget == 'checkbox' || this.options.widget == 'radio')
			return this.renderGroup();

		var keys = Array.isArray(this.options.sort) ? this.options.sort : Object.keys(this.choices),
		    value = (this.value != null) ? String(this.value) : null,
		    sel = E('select', {
			'id': this.options.id ? 'widget.' + this.options.id : null,
			'name': this.options.name || this.options.id,
			'class': 'cbi-input-select',
			'disabled': this.options.disabled ? '' : null
		    });

		/* LuCI: the empty option says the '' choice's text when there is one; '' is not drawn twice */
		if (this.options.optional || value == null || keys.indexOf(value) == -1)
			sel.appendChild(E('option', { 'value': '' }, [ this.choices[''] || this.options.placeholder || _('-- Please choose --') ]));

		keys.forEach(function(k) {
			if (k !== '')
				sel.appendChild(E('option', { 'value': k, 'selected': (k === value) ? '' : null }, [ this.choices[k] ]));
		}, this);

		this.frame(sel);
		this.setUpdateEvents(sel, 'change', 'blur');
		this.setChangeEvents(sel, 'change');
		return this.node;
	}
});

/* LuCI's checkbox or radio group: per choice span.cbi-checkbox > input, label, text; one a line when vertical */
UISelect.prototype.renderGroup = function() {
	var self = this, o = this.options, multiple = (o.widget == 'checkbox'),
	    keys = Array.isArray(o.sort) ? o.sort : Object.keys(this.choices),
	    values = L.toArray(this.value).map(String), frame = E('div', { 'id': o.id });
	keys.forEach(function(k, i) {
		var id = o.id ? 'widget.%s.%d'.format(o.id, i) : null;
		frame.appendChild(E('span', { 'class': multiple ? 'cbi-checkbox' : 'cbi-radio' }, [
			E('input', { 'id': id, 'name': o.id || o.name, 'type': multiple ? 'checkbox' : 'radio',
				'class': multiple ? 'cbi-input-checkbox' : 'cbi-input-radio', 'value': k,
				'checked': (values.indexOf(k) > -1) ? '' : null, 'disabled': o.disabled ? '' : null }),
			E('label', { 'for': id }),
			E('span', { 'click': function(ev) { ev.currentTarget.previousElementSibling.previousElementSibling.click(); } }, [ self.choices[k] ])
		]));
		frame.appendChild((o.orientation == 'vertical') ? E('br') : document.createTextNode(' \xa0 '));
	});
	this.node = frame;
	dom.bindClassInstance(frame, this);
	this.validState = true;
	return frame;
};

/* LuCI's rich dropdown (single choice), markup and events after ui.js UIDropdown */
UISelect.prototype.getValue = function() {
	if (this.options.widget != 'checkbox' && this.options.widget != 'radio')
		return UIElement.prototype.getValue.call(this);
	var on = Array.prototype.filter.call(this.node.querySelectorAll('input'), function(i) { return i.checked; })
		.map(function(i) { return i.value; });
	return (this.options.widget == 'checkbox') ? on : (on[0] || null);
};

var UIDropdown = UIElement.extend({
	__name__: 'UIDropdown',
	__init__: function(value, choices, options) {
		this.value = (value != null) ? String(value) : '';
		this.choices = choices || {};
		this.options = Object.assign({ sort: true, optional: true, select_placeholder: _('-- Please choose --') }, options);
	},

	render: function() {
		var self = this, o = this.options,
		    keys = Array.isArray(o.sort) ? o.sort : Object.keys(this.choices),
		    ul = E('ul');
		if (o.sort === true)
			keys.sort();
		if (o.optional && keys.indexOf('') == -1)
			ul.appendChild(E('li', { 'placeholder': '', 'data-value': '' }, [ o.select_placeholder ]));
		keys.forEach(function(k) {
			ul.appendChild(E('li', { 'data-value': k, 'selected': (k === self.value) ? '' : null }, [ self.choices[k] != null ? self.choices[k] : k ]));
		});
		if (!ul.querySelector('li[selected]') && ul.firstElementChild)
			ul.firstElementChild.setAttribute('selected', '');
		var sb = E('div', { 'id': o.id, 'class': 'cbi-dropdown', 'optional': o.optional ? '' : null,
			'disabled': o.disabled ? '' : null, 'tabindex': 0 }, [ ul, E('span', { 'class': 'open' }, '▾') ]);
		sb.addEventListener('click', function(ev) {
			var li = ev.target.closest('li');
			ev.stopPropagation();
			if (sb.hasAttribute('disabled'))
				return;
			if (sb.hasAttribute('open') && li && sb.contains(li))
				return self.choose(sb, li);
			document.querySelectorAll('.cbi-dropdown[open]').forEach(function(d) { d.removeAttribute('open'); });
			if (!li || !sb.hasAttribute('open'))
				sb.toggleAttribute('open');
		});
		if (!UIDropdown.bound) {
			UIDropdown.bound = true;
			window.addEventListener('click', function() {
				document.querySelectorAll('.cbi-dropdown[open]').forEach(function(d) { d.removeAttribute('open'); });
			});
		}
		this.node = sb;
		dom.bindClassInstance(sb, this);
		this.validState = true;
		this.setChangeEvents(sb, 'cbi-dropdown-change');
		return sb;
	},

	choose: function(sb, li) {
		sb.querySelectorAll('li[selected]').forEach(function(x) { x.removeAttribute('selected'); });
		li.setAttribute('selected', '');
		sb.removeAttribute('open');
		sb.dispatchEvent(new CustomEvent('cbi-dropdown-change', { bubbles: true, detail: {
			instance: this, element: sb,
			value: li.hasAttribute('placeholder') ? null : { text: li.innerText, value: li.getAttribute('data-value'), element: li }
		} }));
	},

	getValue: function() {
		var li = this.node.querySelector('li[selected]');
		return (li && !li.hasAttribute('placeholder')) ? li.getAttribute('data-value') : '';
	},

	setValue: function(v) {
		var li = this.node.querySelector('li[data-value="%s"]'.format(v));
		if (li)
			this.choose(this.node, li);
	}
});

var UICheckbox = UIElement.extend({
	__name__: 'UICheckbox',
	__init__: function(value, options) {
		this.value = value;
		this.options = Object.assign({ value_enabled: '1', value_disabled: '0' }, options);
	},

	render: function() {
		var id = this.options.id ? 'widget.' + this.options.id : null,
		    cb = E('input', {
			'id': id,
			'name': this.options.name || this.options.id,
			'type': 'checkbox',
			'disabled': this.options.disabled ? '' : null,
			'value': this.options.value_enabled,
			'checked': (this.value == this.options.value_enabled) ? '' : null
		    });
		this.frame(E('div', {}, [ cb, E('label', { 'for': id }) ]));
		this.validState = true;
		this.setChangeEvents(cb, 'click', 'change');
		return this.node;
	},

	isChecked: function() {
		return this.node.querySelector('input[type="checkbox"]').checked;
	},

	getValue: function() {
		return this.isChecked() ? this.options.value_enabled : this.options.value_disabled;
	},

	setValue: function(value) {
		this.node.querySelector('input[type="checkbox"]').checked = (value == this.options.value_enabled);
	}
});

/* a list of values: one .item per value, a text field and + to add, × to remove */
var UIDynamicList = UIElement.extend({
	__name__: 'UIDynamicList',
	__init__: function(values, choices, options) {
		this.values = Array.isArray(values) ? values.slice() : [];
		this.options = Object.assign({ optional: true }, options);
	},

	render: function() {
		var self = this, dis = this.options.disabled ? '' : null,
		    input = E('input', { 'type': 'text', 'class': 'cbi-input-text', 'placeholder': this.options.placeholder, 'disabled': dis });
		this.list = E('div', { 'class': 'cbi-dynlist' }, [
			E('div', { 'class': 'add-item' }, [ input,
				E('button', { 'class': 'cbi-button cbi-button-add', 'disabled': dis, 'click': function(ev) {
					ev.preventDefault();
					if (input.value.trim() === '')
						return;
					if (typeof(self.options.validate) == 'function' && self.options.validate(input.value) !== true) {
						input.classList.add('cbi-input-invalid');
						input.setAttribute('title', String(self.options.validate(input.value)));
						return;
					}
					input.classList.remove('cbi-input-invalid');
					self.addItem(input.value.trim());
					input.value = '';
				} }, '+') ])
		]);
		this.values.forEach(function(v) { self.addItem(v); });
		this.frame(this.list);
		this.validState = true;
		return this.node;
	},

	addItem: function(v) {
		var dis = this.options.disabled ? '' : null, item;
		item = E('div', { 'class': 'item', 'data-value': v }, [ E('span', {}, [ v ]), ' ',
			E('button', { 'class': 'cbi-button cbi-button-remove', 'disabled': dis, 'title': _('Remove'),
				'click': function(ev) { ev.preventDefault(); item.remove(); } }, '×') ]);
		this.list.insertBefore(item, this.list.lastElementChild);
	},

	getValue: function() {
		return Array.prototype.map.call(this.list.querySelectorAll('.item'), function(i) { return i.getAttribute('data-value'); });
	},

	setValue: function() {}
});

var UIHiddenfield = UIElement.extend({
	__name__: 'UIHiddenfield',
	__init__: function(value, options) {
		this.value = value;
		this.options = Object.assign({}, options);
	},

	render: function() {
		this.node = E('input', { 'type': 'hidden', 'id': this.options.id, 'value': this.value != null ? this.value : '' });
		dom.bindClassInstance(this.node, this);
		this.validState = true;
		return this.node;
	},

	getValue: function() { return this.node.value; },
	setValue: function(v) { this.node.value = v; }
});

return baseclass.extend({
	__name__: 'ui',

	AbstractElement: UIElement,
	Textfield: UITextfield,
	Select: UISelect,
	Checkbox: UICheckbox,
	Dropdown: UIDropdown,
	DynamicList: UIDynamicList,
	Hiddenfield: UIHiddenfield,

	showModal: function(title, children) {
		var overlay = document.getElementById('modal_overlay'), dlg;
		if (!overlay) {
			overlay = E('div', { 'id': 'modal_overlay' }, E('div', { 'class': 'modal', 'role': 'dialog', 'aria-modal': 'true' }));
			document.body.appendChild(overlay);
		}
		dlg = overlay.firstElementChild;
		dlg.className = 'modal ' + Array.prototype.slice.call(arguments, 2).join(' ');
		dom.content(dlg, [ E('h4', {}, title) ].concat(children || []));
		document.body.classList.add('modal-overlay-active');
		overlay.scrollTop = 0;
		return dlg;
	},

	hideModal: function() {
		document.body.classList.remove('modal-overlay-active');
	},

	addNotification: function(title, children) {
		var mc = document.getElementById('maincontent') || document.body,
		    msg = E('div', { 'class': 'alert-message fade-in' }, [
			E('div', { 'style': 'display:flex' }, [
				E('div', { 'style': 'flex:10' }, [ title ? E('h4', {}, title) : '' ].concat(children || [])),
				E('div', { 'style': 'flex:1 1 auto;display:flex' },
					E('button', {
						'class': 'btn',
						'style': 'margin-left:auto;margin-top:auto',
						'click': function(ev) { dom.parent(ev.target, '.alert-message').remove(); }
					}, _('Dismiss')))
			])
		    ]);
		Array.prototype.slice.call(arguments, 2).forEach(function(c) {
			String(c).split(/\s+/).forEach(function(k) { if (k) msg.classList.add(k); });
		});
		mc.insertBefore(msg, mc.firstElementChild);
		return msg;
	},

	createHandlerFn: function(ctx, fn) {
		var args = Array.prototype.slice.call(arguments, 2);
		if (typeof(fn) == 'string')
			fn = ctx[fn];
		if (typeof(fn) != 'function')
			return null;
		return function(ev) {
			var t = ev.currentTarget;
			t.classList.add('spinning');
			t.disabled = true;
			return Promise.resolve(fn.apply(ctx, args.concat([ ev ]))).finally(function() {
				t.classList.remove('spinning');
				t.disabled = false;
			});
		};
	},

	changes: {
		apply: function() {
			return uci.apply().then(function() {
				L.require('ui').then(function(u) {
					u.addNotification(null, E('p', {}, _('Configuration changes applied.')), 'info');
				});
			}).catch(function(e) {
				L.require('ui').then(function(u) {
					u.addNotification(null, E('p', {}, _('Apply request failed with status %s').format(e)), 'error');
				});
			});
		},
		setIndicator: function() {},
		renderChangeIndicator: function() {}
	},

	tabs: {
		/* the panes [data-tab][data-tab-title] of one section become a tab menu; the first is shown */
		initTabGroup: function(panes) {
			panes = Array.prototype.slice.call(panes || []).filter(function(p) { return p.getAttribute && p.hasAttribute('data-tab'); });
			if (!panes.length)
				return;
			var menu = E('ul', { 'class': 'cbi-tabmenu' }), show = function(name) {
				panes.forEach(function(p) { p.setAttribute('data-tab-active', String(p.getAttribute('data-tab') == name)); });
				Array.prototype.forEach.call(menu.children, function(li) {
					li.className = (li.getAttribute('data-tab') == name) ? 'cbi-tab' : 'cbi-tab-disabled';
				});
			};
			panes.forEach(function(p) {
				menu.appendChild(E('li', { 'data-tab': p.getAttribute('data-tab') }, E('a', { 'href': '#', 'click': function(ev) {
					ev.preventDefault();
					show(p.getAttribute('data-tab'));
				} }, [ p.getAttribute('data-tab-title') ])));
			});
			panes[0].parentNode.insertBefore(menu, panes[0]);
			show(panes[0].getAttribute('data-tab'));
		},
		updateTabs: function() {}
	}
});
