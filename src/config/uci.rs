//! UCI files (/etc/config/*): read as `uci` reads them, written as `uci commit` writes them.
//!
//! This is only the file syntax — sections with a type and an optional name, each holding
//! options (one value) and lists (many values). What the values mean is `config`'s job.
//! A hand-written reader instead of the uci_rs crate: uci_rs names anonymous sections with a
//! random number, where uci's names are deterministic (`cfg` + position + type hash) and other
//! tools (LuCI, `uci show`) rely on them.

use crate::error::{Error, Result};

/// One value: `option` (a single value) or `list` (values in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Option(String),
    List(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub kind: String,
    /// The name as written in the file; `None` for an anonymous section.
    pub name: Option<String>,
    /// Options in file order; a name appears once.
    pub options: Vec<(String, Value)>,
}

impl Section {
    pub fn new(kind: &str, name: Option<&str>) -> Self {
        Section {
            kind: kind.to_string(),
            name: name.map(str::to_string),
            options: Vec::new(),
        }
    }

    pub fn get(&self, option: &str) -> Option<&Value> {
        self.options
            .iter()
            .find(|(n, _)| n == option)
            .map(|(_, v)| v)
    }

    /// Set (or replace) an option holding one value.
    pub fn set(&mut self, option: &str, value: &str) {
        self.put(option, Value::Option(value.to_string()));
    }

    /// Remove an option (or list).
    pub fn unset(&mut self, option: &str) {
        self.options.retain(|(n, _)| n != option);
    }

    fn put(&mut self, option: &str, value: Value) {
        match self.options.iter_mut().find(|(n, _)| n == option) {
            Some(slot) => slot.1 = value,
            None => self.options.push((option.to_string(), value)),
        }
    }

    /// Append to a list, turning a single option into a list as uci does.
    pub fn add_list(&mut self, option: &str, value: &str) {
        let next = match self.get(option) {
            Some(Value::List(items)) => {
                let mut items = items.clone();
                items.push(value.to_string());
                items
            }
            Some(Value::Option(v)) => vec![v.clone(), value.to_string()],
            None => vec![value.to_string()],
        };
        self.put(option, Value::List(next));
    }
}

/// A parsed UCI file: its sections in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Package {
    pub sections: Vec<Section>,
}

impl Package {
    /// The name uci gives section `index`: its own, or the anonymous `cfgXXYYYY` name.
    pub fn section_name(&self, index: usize) -> String {
        match self.sections.get(index) {
            Some(Section { name: Some(n), .. }) => n.clone(),
            Some(s) => anonymous_name(index, &s.kind),
            None => String::new(),
        }
    }

    /// Index of the section with `name` (anonymous names included).
    pub fn find(&self, name: &str) -> Option<usize> {
        (0..self.sections.len()).find(|&i| self.section_name(i) == name)
    }
}

/// uci's name for an anonymous section: `cfg`, its 1-based position among all sections in
/// two (or more) hex digits, and four hex digits of a djb2 hash of its type.
pub fn anonymous_name(index: usize, kind: &str) -> String {
    let hash = kind.bytes().fold(5381u32, |h, b| {
        h.wrapping_mul(33).wrapping_add(u32::from(b))
    });
    format!("cfg{:02x}{:04x}", index + 1, hash & 0xffff)
}

/// Parse UCI text. `file` names the file in error messages.
pub fn parse(text: &str, file: &str) -> Result<Package> {
    let mut pkg = Package::default();
    for (lineno, line) in text.lines().enumerate() {
        let at = || format!("{file}:{}", lineno + 1);
        let words = split_words(line).map_err(|e| Error::new(format!("{}: {e}", at())))?;
        let Some((keyword, args)) = words.split_first() else {
            continue;
        };
        match (keyword.as_str(), args) {
            ("package", [_]) => {}
            ("config", [kind]) => pkg
                .sections
                .push(Section::new(check_name(kind, &at)?, None)),
            ("config", [kind, name]) => {
                let section = Section::new(check_name(kind, &at)?, Some(check_name(name, &at)?));
                pkg.sections.push(section)
            }
            ("option", [name, value]) | ("list", [name, value]) => {
                let name = check_name(name, &at)?;
                let Some(section) = pkg.sections.last_mut() else {
                    return Err(Error::new(format!(
                        "{}: '{keyword}' before any 'config' line",
                        at()
                    )));
                };
                if keyword == "option" {
                    section.put(name, Value::Option(value.clone()));
                } else {
                    section.add_list(name, value);
                }
            }
            _ => {
                return Err(Error::new(format!(
                    "{}: cannot read '{}' (expected config, option or list)",
                    at(),
                    line.trim()
                )));
            }
        }
    }
    Ok(pkg)
}

fn check_name<'a>(name: &'a str, at: &dyn Fn() -> String) -> Result<&'a str> {
    let ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(name)
    } else {
        Err(Error::new(format!("{}: invalid name '{name}'", at())))
    }
}

/// Split one line into words: bare words, 'single' and "double" quoted parts (joined when
/// adjacent), backslash escapes outside single quotes, `#` comments.
fn split_words(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            chars.next();
        }
        match chars.peek() {
            None | Some('#') => return Ok(words),
            _ => {}
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_whitespace() {
                break;
            }
            chars.next();
            match c {
                '\'' => loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => word.push(ch),
                        None => return Err("unterminated ' quote".into()),
                    }
                },
                '"' => loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch) => word.push(ch),
                            None => return Err("unterminated \" quote".into()),
                        },
                        Some(ch) => word.push(ch),
                        None => return Err("unterminated \" quote".into()),
                    }
                },
                '\\' => match chars.next() {
                    Some(ch) => word.push(ch),
                    None => return Err("backslash at end of line".into()),
                },
                '#' if word.is_empty() => return Ok(words),
                _ => word.push(c),
            }
        }
        words.push(word);
    }
}

/// Write a package the way `uci commit` does: a blank line before each section, tabs,
/// every value in single quotes.
pub fn serialize(pkg: &Package) -> String {
    let mut out = String::new();
    for s in &pkg.sections {
        out.push_str("\nconfig ");
        out.push_str(&s.kind);
        if let Some(name) = &s.name {
            out.push(' ');
            out.push_str(&quote(name));
        }
        out.push('\n');
        for (name, value) in &s.options {
            match value {
                Value::Option(v) => out.push_str(&format!("\toption {name} {}\n", quote(v))),
                Value::List(items) => {
                    for v in items {
                        out.push_str(&format!("\tlist {name} {}\n", quote(v)));
                    }
                }
            }
        }
    }
    out.push('\n');
    out
}

fn quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_names_match_uci() {
        // Measured on real uci: the stock first section of /etc/config/dhcp.
        assert_eq!(anonymous_name(0, "dnsmasq"), "cfg01411c");
        assert_eq!(anonymous_name(2, "dnsmasq"), "cfg03411c");
    }

    #[test]
    fn reads_quoting_lists_comments_and_anonymous_sections() {
        let text = "# top comment\npackage dhcp\n\nconfig dnsmasq\n\toption domain 'lan' # trailing\n\
                    \tlist server \"/a/1.2.3.4\"\n\tlist server /b/5.6.7.8\n\
                    config dhcp lan\n\toption interface lan\n\toption x 'it'\\''s'\n\toption y \"a\\\"b\"\n";
        let pkg = parse(text, "dhcp").unwrap();
        assert_eq!(pkg.sections.len(), 2);
        assert_eq!(pkg.section_name(0), "cfg01411c");
        assert_eq!(pkg.find("lan"), Some(1));
        let s = &pkg.sections[0];
        assert_eq!(s.get("domain"), Some(&Value::Option("lan".into())));
        assert_eq!(
            s.get("server"),
            Some(&Value::List(vec!["/a/1.2.3.4".into(), "/b/5.6.7.8".into()]))
        );
        assert_eq!(
            pkg.sections[1].get("x"),
            Some(&Value::Option("it's".into()))
        );
        assert_eq!(
            pkg.sections[1].get("y"),
            Some(&Value::Option("a\"b".into()))
        );
    }

    #[test]
    fn later_option_replaces_earlier_as_in_uci() {
        let pkg = parse("config a 'x'\n option o '1'\n option o '2'\n", "t").unwrap();
        assert_eq!(pkg.sections[0].get("o"), Some(&Value::Option("2".into())));
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = parse("config a 'x'\n option o 'unterminated\n", "rpinet").unwrap_err();
        assert_eq!(e.message(), "rpinet:2: unterminated ' quote");
        let e = parse("option o '1'\n", "rpinet").unwrap_err();
        assert!(
            e.message()
                .starts_with("rpinet:1: 'option' before any 'config'")
        );
        let e = parse("config a 'b c'\n", "rpinet").unwrap_err();
        assert_eq!(e.message(), "rpinet:1: invalid name 'b c'");
        let e = parse("config\n", "rpinet").unwrap_err();
        assert!(e.message().contains("cannot read"));
    }

    #[test]
    fn serialize_round_trips_any_value() {
        let mut s = Section::new("node", Some("lion"));
        for v in [
            "plain",
            "it's",
            "a\"b",
            "tab\there",
            "#hash",
            "x y",
            "'",
            "\\",
        ] {
            s.add_list("v", v);
        }
        s.set("o", "it's");
        let pkg = Package {
            sections: vec![s, Section::new("dnsmasq", None)],
        };
        let text = serialize(&pkg);
        assert!(text.starts_with("\nconfig node 'lion'\n\tlist v 'plain'\n"));
        assert_eq!(parse(&text, "t").unwrap(), pkg);
    }
}
