//! UCI files (/etc/config/*): read as libuci reads them, written as `uci commit` writes them.
//!
//! This is only the file syntax — sections with a type and an optional name, each holding
//! options (one value) and lists (many values). What the values mean is `config`'s job.
//!
//! The reader follows libuci's parser (OpenWrt's uci, file.c) rule for rule, because every
//! other reader of these files — LuCI, the `uci` command, init scripts — is libuci, and a file
//! that one of them takes and the other refuses breaks the router: quotes may span lines, a
//! backslash before the end of a line joins the next one, `#` ends an unquoted word and the
//! line, `option x` without a value (or with '') is ignored, a named section given twice is
//! one section, a name reused by another section type refuses the whole file, `;` separates
//! commands. libuci edits its line buffer in place as it parses (it writes a terminator where
//! a word ends), and a few of its rules only exist through that, so [`Line`] keeps such a
//! buffer too. `uci/parity.rs` compares both on generated files.
//!
//! Anonymous sections get uci's deterministic names (`cfg` + position + type hash), which
//! LuCI and `uci show` rely on.

use crate::error::{Error, Result};

#[cfg(all(test, target_env = "gnu"))]
mod parity;

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

    /// Set (or replace, in place) an option holding one value; an empty value removes the
    /// option, as `uci set` does (uci keeps no empty options: it skips `option x ''`).
    pub fn set(&mut self, option: &str, value: &str) {
        if value.is_empty() {
            self.options.retain(|(n, _)| n != option);
        } else {
            self.put(option, Value::Option(value.to_string()));
        }
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
/// two (or more) hex digits, and four hex digits of a djb2 hash of its type (uci names the
/// section when its `config` line is read, before it has options, so only the type counts).
pub fn anonymous_name(index: usize, kind: &str) -> String {
    let hash = kind.bytes().fold(5381u32, |h, b| {
        h.wrapping_mul(33).wrapping_add(u32::from(b))
    });
    format!("cfg{:02x}{:04x}", index + 1, hash & 0xffff)
}

/// Parse UCI text as libuci does (strict mode, as every libuci user runs it): the package,
/// or the one error that refuses the whole file. `file` names the file in error messages.
pub fn parse(text: &str, file: &str) -> Result<Package> {
    read(text, file).map(|b| b.pkg)
}

fn read(text: &str, file: &str) -> Result<Builder> {
    let mut line = Line::new(text.as_bytes());
    let mut builder = Builder::default();
    while !line.eof {
        line.read_at(0);
        let first = line.first;
        if line.at(0) != 0 {
            builder.parse_line(&mut line).map_err(|e| {
                let nul = line.nul.map_or(String::new(), |n| {
                    format!(" (line {n} has a NUL byte: uci drops the rest of it)")
                });
                Error::new(format!("{file}:{first}: {e}{nul}"))
            })?;
        }
    }
    Ok(builder)
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// A section or option name: what a shell variable may hold.
fn valid_name(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A section type: any printable ASCII but space.
fn valid_type(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| (0x21..=0x7e).contains(&b))
}

fn valid_package(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn shown(s: &[u8]) -> String {
    String::from_utf8_lossy(s).escape_debug().to_string()
}

/// One logical line being parsed, kept as libuci keeps it: a buffer the parser edits in place
/// (a 0 byte ends a word or the line; quotes and escapes are removed by copying the word
/// leftwards), which grows by the next physical line when a quote or a trailing backslash
/// carries on, and the rest of the file.
struct Line<'a> {
    rest: &'a [u8],
    /// A read found the end of the file (C's feof).
    eof: bool,
    buf: Vec<u8>,
    pos: usize,
    /// Where the last read ended (libuci checks command words against it).
    filled: usize,
    /// Physical lines begun so far: the number of the line being read.
    lineno: usize,
    line_start: bool,
    /// libuci's buffer size, which decides where `fgets` splits a long line.
    room: usize,
    /// The line of a NUL byte met since the logical line began (for the error message).
    nul: Option<usize>,
    /// The line the logical line began on.
    first: usize,
}

impl<'a> Line<'a> {
    fn new(text: &'a [u8]) -> Self {
        Line {
            rest: text,
            eof: false,
            buf: Vec::new(),
            pos: 0,
            filled: 0,
            lineno: 0,
            line_start: true,
            room: 32,
            nul: None,
            first: 1,
        }
    }

    /// The byte at `i`; past the buffer, the terminator.
    fn at(&self, i: usize) -> u8 {
        self.buf.get(i).copied().unwrap_or(0)
    }

    fn cur(&self) -> u8 {
        self.at(self.pos)
    }

    fn put(&mut self, i: usize, b: u8) {
        if self.buf.len() <= i {
            self.buf.resize(i + 1, 0);
        }
        self.buf[i] = b;
    }

    /// The string starting at `i`, up to its terminator.
    fn str_at(&self, i: usize) -> &[u8] {
        let tail = self.buf.get(i..).unwrap_or_default();
        &tail[..tail.iter().position(|&b| b == 0).unwrap_or(tail.len())]
    }

    /// Read the next line (its newline included) into the buffer at `offset`, replacing
    /// what was there; at the end of the file the buffer just ends at `offset`. As libuci
    /// reads: C's `fgets` into a buffer of 32 bytes that doubles while a line does not fit,
    /// each piece taken up to its first NUL — so a NUL byte drops what follows it in its
    /// piece, and the line goes on with the next piece (or the next line).
    fn read_at(&mut self, offset: usize) {
        if offset == 0 {
            self.pos = 0;
            self.nul = None;
            self.first = self.lineno + usize::from(self.line_start);
        }
        if offset + 1 >= self.room {
            self.room *= 2;
        }
        let mut end = offset;
        loop {
            self.put(end, 0);
            if !self.fgets(end, self.room - end) || self.at(end) == 0 {
                return;
            }
            end += self.str_at(end).len();
            self.filled = end;
            if self.at(end - 1) == b'\n' {
                return;
            }
            self.room *= 2;
        }
    }

    /// C's `fgets` into the buffer at `at`: at most `size - 1` bytes, up to and including a
    /// newline, then a terminator; `false` when the file has nothing left.
    fn fgets(&mut self, at: usize, size: usize) -> bool {
        if self.rest.is_empty() {
            self.eof = true;
            return false;
        }
        let window = &self.rest[..self.rest.len().min(size.saturating_sub(1))];
        let n = match window.iter().position(|&b| b == b'\n') {
            Some(i) => i + 1,
            None => {
                // It stopped for want of data, not of room: that read met the end.
                self.eof |= window.len() == self.rest.len() && window.len() < size - 1;
                window.len()
            }
        };
        let (piece, tail) = self.rest.split_at(n);
        self.rest = tail;
        if self.line_start {
            self.lineno += 1;
        }
        self.line_start = piece.last() == Some(&b'\n');
        if piece.contains(&0) {
            self.nul.get_or_insert(self.lineno);
        }
        self.put(at + n, 0);
        self.buf[at..at + n].copy_from_slice(piece);
        true
    }

    fn skip_space(&mut self) {
        while self.cur() != 0 && is_space(self.cur()) {
            self.pos += 1;
        }
    }

    /// Copy the current byte to `target` (a word is compacted leftwards as quotes and
    /// backslashes drop out).
    fn keep(&mut self, target: &mut usize) {
        self.put(*target, self.cur());
        *target += 1;
        self.pos += 1;
    }

    /// After a backslash: `true` when the next byte is taken as it is; `false` when the
    /// backslash ended the line, which then carries on with the next one.
    fn backslash(&mut self) -> bool {
        self.pos += 1;
        let c = self.cur();
        let crlf_end = c == b'\r' && self.at(self.pos + 1) == b'\n' && self.at(self.pos + 2) == 0;
        if c == 0 || c == b'\n' || crlf_end {
            self.read_at(self.pos);
            return false;
        }
        true
    }

    /// A quoted part; a newline inside is part of the value, and the quote may end on a
    /// later line. In double quotes a backslash takes the next byte as it is.
    fn quoted(&mut self, target: &mut usize, quote: u8) -> std::result::Result<(), String> {
        self.pos += 1;
        loop {
            match self.cur() {
                c if c == quote => {
                    self.pos += 1;
                    return Ok(());
                }
                0 => {
                    self.read_at(self.pos);
                    if self.cur() == 0 {
                        return Err(format!("a {} quote is never closed", char::from(quote)));
                    }
                }
                b'\\' if quote == b'"' => {
                    if self.backslash() {
                        self.keep(target);
                    }
                }
                _ => self.keep(target),
            }
        }
    }

    /// The next word, its quotes and escapes removed: where it starts in the buffer (it ends
    /// at a terminator). Empty at the end of the line, at `#`, and at a `;` that stands alone.
    fn word(&mut self) -> std::result::Result<usize, String> {
        self.skip_space();
        let start = self.pos;
        if self.cur() == b';' {
            self.put(self.pos, 0);
            self.pos += 1;
            return Ok(start);
        }
        let mut target = start;
        let mut more = true;
        loop {
            match self.cur() {
                b'\'' | b'"' => self.quoted(&mut target, self.cur())?,
                b'#' => {
                    self.put(self.pos, 0);
                    break;
                }
                0 => break,
                b';' => {
                    more = false;
                    break;
                }
                b'\\' => {
                    if self.backslash() {
                        self.keep(&mut target);
                    }
                }
                _ => self.keep(&mut target),
            }
            if self.cur() == 0 || is_space(self.cur()) {
                break;
            }
        }
        if self.cur() != 0 && more {
            self.pos += 1;
        }
        self.put(target, 0);
        Ok(start)
    }

    /// The next word as bytes.
    fn arg(&mut self) -> std::result::Result<Vec<u8>, String> {
        let at = self.word()?;
        Ok(self.str_at(at).to_vec())
    }

    /// The command word (split at spaces and tabs only, as strtok does), terminated in place;
    /// `None` at the end of the line.
    fn command(&mut self) -> Option<Vec<u8>> {
        let mut i = self.pos;
        while matches!(self.at(i), b' ' | b'\t') {
            i += 1;
        }
        if self.at(i) == 0 {
            return None;
        }
        let start = i;
        while !matches!(self.at(i), 0 | b' ' | b'\t') {
            i += 1;
        }
        let word = self.buf[start..i].to_vec();
        if self.at(i) != 0 {
            self.put(i, 0);
        }
        Some(word)
    }

    /// Step past the command word; `false` when nothing follows it on the line.
    fn past_command(&mut self) -> bool {
        let next = self.pos + self.str_at(self.pos).len() + 1;
        if next > self.filled {
            return false;
        }
        self.pos = next;
        true
    }

    /// Nothing may follow a command's arguments but a comment or a `;`.
    fn end(&mut self) -> std::result::Result<(), String> {
        self.skip_space();
        let extra = self.arg()?;
        if extra.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "too many words at '{}' (a value with spaces needs quotes)",
                shown(&extra)
            ))
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Command {
    Package,
    Config,
    Option,
    List,
}

impl Command {
    /// The command a word names: its full name or its first letter.
    fn named(word: &[u8]) -> Option<Command> {
        let all = [
            ("package", Command::Package),
            ("config", Command::Config),
            ("option", Command::Option),
            ("list", Command::List),
        ];
        all.into_iter()
            .find(|(name, _)| word == name.as_bytes() || word == &name.as_bytes()[..1])
            .map(|(_, c)| c)
    }
}

/// The package as libuci builds it from the commands it reads.
#[derive(Default)]
struct Builder {
    pkg: Package,
    /// The section `option` and `list` lines go to.
    current: Option<usize>,
    /// The most `config` lines that named one section (the parity test needs it: libuci
    /// before 2023 loses track of a section named a third time).
    most_declared: usize,
    declared: Vec<usize>,
    /// Every section's uci name (anonymous ones included), first holder first, as uci looks
    /// names up.
    names: std::collections::HashMap<String, usize>,
}

impl Builder {
    /// One logical line: commands, separated by `;`, up to a comment or the end.
    fn parse_line(&mut self, line: &mut Line) -> std::result::Result<(), String> {
        line.skip_space();
        while let Some(word) = line.command() {
            if word.first() == Some(&b'#') {
                return Ok(());
            }
            let Some(command) = Command::named(&word) else {
                if Command::named(word.trim_ascii_end()).is_some() {
                    // `config` alone on its line: uci takes the newline into the word.
                    return Err(format!("'{}' without a name", shown(word.trim_ascii_end())));
                }
                return Err(format!(
                    "cannot read '{}' (expected config, option or list)",
                    shown(&word)
                ));
            };
            if matches!(command, Command::Option | Command::List) && self.current.is_none() {
                return Err(format!("'{}' before any 'config' line", shown(&word)));
            }
            if !line.past_command() {
                return Err(format!("'{}' without a name", shown(&word)));
            }
            match command {
                Command::Package => {
                    let name = line.arg()?;
                    if !valid_package(&name) {
                        return Err(format!("invalid package name '{}'", shown(&name)));
                    }
                    line.end()?;
                }
                Command::Config => self.config(line)?,
                Command::Option | Command::List => self.option(line, command == Command::List)?,
            }
        }
        Ok(())
    }

    fn config(&mut self, line: &mut Line) -> std::result::Result<(), String> {
        let kind = line.arg()?;
        if kind.is_empty() {
            return Err("'config' without a section type".into());
        }
        if !valid_type(&kind) {
            return Err(format!(
                "invalid section type '{}' (printable ASCII, no spaces)",
                shown(&kind)
            ));
        }
        let name = line.arg()?;
        if !name.is_empty() && !valid_name(&name) {
            return Err(format!("invalid name '{}'", shown(&name)));
        }
        line.end()?;
        // Both checked to be ASCII above.
        let kind = String::from_utf8_lossy(&kind).into_owned();
        let name = String::from_utf8_lossy(&name).into_owned();
        if name.is_empty() {
            self.add(Section::new(&kind, None));
            return Ok(());
        }
        match self.names.get(&name).copied() {
            Some(i) if self.pkg.sections[i].kind != kind => Err(format!(
                "section '{name}' is 'config {}' above and 'config {kind}' here (uci refuses a name used by two section types)",
                self.pkg.sections[i].kind
            )),
            // The same named section again: uci carries on filling the first.
            Some(i) => {
                self.current = Some(i);
                self.declared[i] += 1;
                self.most_declared = self.most_declared.max(self.declared[i]);
                Ok(())
            }
            None => {
                self.add(Section::new(&kind, Some(&name)));
                Ok(())
            }
        }
    }

    /// A new section at the end, current from now on.
    fn add(&mut self, section: Section) {
        let i = self.pkg.sections.len();
        self.pkg.sections.push(section);
        self.declared.push(1);
        self.names.entry(self.pkg.section_name(i)).or_insert(i);
        self.current = Some(i);
    }

    fn option(&mut self, line: &mut Line, list: bool) -> std::result::Result<(), String> {
        let name = line.arg()?;
        if name.is_empty() {
            return Err(format!(
                "'{}' without a name",
                if list { "list" } else { "option" }
            ));
        }
        if !valid_name(&name) {
            return Err(format!("invalid name '{}'", shown(&name)));
        }
        let value = line.arg()?;
        line.end()?;
        let name = String::from_utf8_lossy(&name).into_owned();
        let value = String::from_utf8_lossy(&value).into_owned();
        let Some(section) = self.current.and_then(|i| self.pkg.sections.get_mut(i)) else {
            return Err("'option' before any 'config' line".into());
        };
        if list {
            section.add_list(&name, &value);
        } else {
            // `option x ''` (or no value) leaves the section as it is.
            if !value.is_empty() {
                section.put(&name, Value::Option(value));
            }
        }
        Ok(())
    }
}

/// Write a package the way `uci commit` does: a blank line before each section, tabs,
/// names and values in single quotes (a quote inside as '\'').
pub fn serialize(pkg: &Package) -> String {
    let mut out = String::new();
    for s in &pkg.sections {
        out.push_str("\nconfig ");
        out.push_str(&section_type(&s.kind));
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

/// A section type as uci writes it, bare; quoted when a character in it would not read
/// back bare (uci itself writes `config a#b` and then reads type `a`).
fn section_type(kind: &str) -> String {
    if kind
        .bytes()
        .all(|b| !matches!(b, b'\'' | b'"' | b'\\' | b'#' | b';'))
    {
        kind.to_string()
    } else {
        quote(kind)
    }
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

    fn value(text: &str, section: usize, option: &str) -> Option<Value> {
        parse(text, "t").unwrap().sections[section]
            .get(option)
            .cloned()
    }

    fn one(v: &str) -> Option<Value> {
        Some(Value::Option(v.into()))
    }

    /// Files libuci reads that an earlier rpinet refused (or read otherwise).
    #[test]
    fn reads_what_libuci_reads() {
        for (text, want) in [
            // a newline inside quotes is part of the value (`uci set` writes such values)
            ("option v 'two\nlines'", "two\nlines"),
            ("option v \"a\n\\\"b\"", "a\n\"b"),
            // a backslash at the end of a line joins the next
            ("option v one\\\ntwo", "onetwo"),
            ("option v 'one'\\\r\n'two'", "onetwo"),
            // `#` ends an unquoted word and the line
            ("option v foo#bar baz", "foo"),
            ("option v 'a'#b", "a"),
        ] {
            let file = format!("config a 'x'\n\t{text}\n");
            assert_eq!(value(&file, 0, "v"), one(want), "{file:?}");
        }
        // `option x` without a value, or with '', changes nothing
        let pkg = parse(
            "config a 'x'\n\toption v '1'\n\toption v\n\toption w ''\n\toption y #c\n",
            "t",
        )
        .unwrap();
        assert_eq!(
            pkg.sections[0].options,
            vec![("v".to_string(), Value::Option("1".into()))]
        );
        // a named section given twice is one section, where it first stood
        let pkg = parse(
            "config a 'x'\n option v 1\nconfig b\nconfig a 'x'\n option w 2\n option v 3\n",
            "t",
        )
        .unwrap();
        assert_eq!(pkg.sections.len(), 2);
        assert_eq!(pkg.sections[0].options.len(), 2);
        assert_eq!(pkg.sections[0].get("v"), one("3").as_ref());
        // `config x ''` is anonymous; `;` separates commands after a word that had quotes
        let pkg = parse("config a ''\nconfig b 'y' ; option v 1\n", "t").unwrap();
        assert_eq!(
            (
                pkg.sections[0].name.as_deref(),
                pkg.section_name(0).as_str()
            ),
            (None, anonymous_name(0, "a").as_str())
        );
        assert_eq!(pkg.sections[1].get("v"), one("1").as_ref());
        // `list x` without a value adds an empty item
        assert_eq!(
            value("config a 'x'\n list l\n", 0, "l"),
            Some(Value::List(vec![String::new()]))
        );
        // one-letter commands
        assert_eq!(
            value("c a x\no v 1\nl w 2\n", 0, "w"),
            Some(Value::List(vec!["2".into()]))
        );
    }

    /// Files libuci refuses that an earlier rpinet read.
    #[test]
    fn refuses_what_libuci_refuses() {
        for (text, why) in [
            (
                "config rpinet 'main'\nconfig node 'main'\n",
                "t:2: section 'main' is 'config rpinet' above and 'config node' here",
            ),
            ("config a x y\n", "t:1: too many words at 'y'"),
            (
                "config a 'x'\n option v a b\n",
                "t:2: too many words at 'b'",
            ),
            (
                "config a 'x'\n option v 'a\n",
                "t:2: a ' quote is never closed",
            ),
            ("config a 'x'\n option x-y 1\n", "t:2: invalid name 'x-y'"),
            ("config 'a b'\n", "t:1: invalid section type 'a b'"),
            ("config a x ;\n", "t:1: cannot read '\\n'"),
            ("conf a x\n", "t:1: cannot read 'conf'"),
            ("config\n", "t:1: 'config' without a name"),
            ("config", "t:1: 'config' without a name"),
        ] {
            let e = parse(text, "t").unwrap_err();
            assert!(e.message().starts_with(why), "{text:?}: {e}");
        }
    }

    #[test]
    fn later_option_replaces_earlier_as_in_uci() {
        let pkg = parse("config a 'x'\n option o '1'\n option o '2'\n", "t").unwrap();
        assert_eq!(pkg.sections[0].get("o"), Some(&Value::Option("2".into())));
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = parse("config a 'x'\n option o 'unterminated\n", "rpinet").unwrap_err();
        assert_eq!(e.message(), "rpinet:2: a ' quote is never closed");
        let e = parse("option o '1'\n", "rpinet").unwrap_err();
        assert!(
            e.message()
                .starts_with("rpinet:1: 'option' before any 'config'")
        );
        let e = parse("config a 'b c'\n", "rpinet").unwrap_err();
        assert_eq!(e.message(), "rpinet:1: invalid name 'b c'");
        let e = parse("config\n", "rpinet").unwrap_err();
        assert_eq!(e.message(), "rpinet:1: 'config' without a name");
        let e = parse("conf x\n", "rpinet").unwrap_err();
        assert!(e.message().contains("cannot read 'conf'"));
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
