//! A YAML document from a typed value: what rpinet writes for cloud-init (NoCloud user-data)
//! is built as a [`Yaml`] tree and printed here, never spliced together as text. Block
//! style, two spaces a level; every string double-quoted with JSON's escapes (a YAML
//! double-quoted scalar accepts them), so no value can end a line, start a comment or turn
//! into a number, a boolean or a key.

use std::fmt::Write;

/// A YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Str(String),
    Bool(bool),
    /// A mapping; keys are rpinet's own (plain words), in this order.
    Map(Vec<(&'static str, Yaml)>),
    Seq(Vec<Yaml>),
}

impl Yaml {
    pub fn str(s: impl Into<String>) -> Yaml {
        Yaml::Str(s.into())
    }

    fn scalar(&self) -> Option<String> {
        match self {
            // serde_json quotes and escapes a string; it cannot fail for a str.
            Yaml::Str(s) => Some(serde_json::to_string(s).unwrap_or_default()),
            Yaml::Bool(b) => Some(b.to_string()),
            Yaml::Map(m) if m.is_empty() => Some("{}".into()),
            Yaml::Seq(s) if s.is_empty() => Some("[]".into()),
            _ => None,
        }
    }

    /// A sequence of scalars, printed on one line (`[a, b]`) inside a sequence.
    fn flow(&self) -> Option<String> {
        let Yaml::Seq(items) = self else { return None };
        let parts: Option<Vec<String>> = items.iter().map(Yaml::scalar).collect();
        Some(format!("[{}]", parts?.join(", ")))
    }
}

/// The document: `header` lines (e.g. `#cloud-config`), then `value`.
pub fn document(header: &str, value: &Yaml) -> String {
    let mut out = String::new();
    for line in header.lines() {
        out.push_str(line);
        out.push('\n');
    }
    block(&mut out, value, 0);
    out
}

fn block(out: &mut String, v: &Yaml, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Yaml::Map(entries) if !entries.is_empty() => {
            for (k, v) in entries {
                entry(out, &pad, k, v, indent);
            }
        }
        Yaml::Seq(items) if !items.is_empty() => {
            for item in items {
                match item {
                    Yaml::Map(entries) if !entries.is_empty() => {
                        // `- key: value`, the other keys under the first
                        let (k, v) = &entries[0];
                        entry(out, &format!("{pad}- "), k, v, indent + 2);
                        for (k, v) in &entries[1..] {
                            entry(out, &" ".repeat(indent + 2), k, v, indent + 2);
                        }
                    }
                    _ => {
                        let line = item.scalar().or_else(|| item.flow());
                        match line {
                            Some(s) => {
                                let _ = writeln!(out, "{pad}- {s}");
                            }
                            None => {
                                let _ = writeln!(out, "{pad}-");
                                block(out, item, indent + 2);
                            }
                        }
                    }
                }
            }
        }
        scalar => {
            let _ = writeln!(out, "{pad}{}", scalar.scalar().unwrap_or_default());
        }
    }
}

fn entry(out: &mut String, lead: &str, key: &str, v: &Yaml, indent: usize) {
    match v.scalar() {
        Some(s) => {
            let _ = writeln!(out, "{lead}{key}: {s}");
        }
        None => {
            let _ = writeln!(out, "{lead}{key}:");
            block(out, v, indent + 2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_sequences_and_scalars_in_block_style() {
        let v = Yaml::Map(vec![
            ("hostname", Yaml::str("lion")),
            ("manage_etc_hosts", Yaml::Bool(true)),
            ("growpart", Yaml::Map(vec![("mode", Yaml::str("off"))])),
            (
                "users",
                Yaml::Seq(vec![Yaml::Map(vec![
                    ("name", Yaml::str("pi")),
                    ("keys", Yaml::Seq(vec![Yaml::str("ssh-ed25519 AAAA x")])),
                    ("shell", Yaml::str("/bin/bash")),
                ])]),
            ),
            (
                "runcmd",
                Yaml::Seq(vec![Yaml::Seq(vec![
                    Yaml::str("systemctl"),
                    Yaml::str("enable"),
                ])]),
            ),
            ("empty", Yaml::Seq(vec![])),
        ]);
        assert_eq!(
            document("#cloud-config", &v),
            "#cloud-config\nhostname: \"lion\"\nmanage_etc_hosts: true\ngrowpart:\n  mode: \"off\"\n\
             users:\n  - name: \"pi\"\n    keys:\n      - \"ssh-ed25519 AAAA x\"\n    shell: \"/bin/bash\"\n\
             runcmd:\n  - [\"systemctl\", \"enable\"]\nempty: []\n"
        );
    }

    #[test]
    fn no_string_can_break_out_of_its_scalar() {
        for s in [
            "a\nb: c",
            "# x",
            "\"q\"",
            "back\\slash",
            "yes",
            "1.5",
            "- x",
            "a: b",
        ] {
            let text = document("", &Yaml::Map(vec![("k", Yaml::str(s))]));
            assert_eq!(text.lines().count(), 1, "{text}");
            let quoted = text.strip_prefix("k: ").unwrap().trim_end();
            assert_eq!(serde_json::from_str::<String>(quoted).unwrap(), s);
        }
    }
}
