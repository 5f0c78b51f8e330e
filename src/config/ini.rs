//! INI as Python's `configparser.ConfigParser()` reads it with its defaults, which is what the
//! old tool's users wrote their `/etc/maillogsentinel.conf` for:
//!
//! - `[section]` headers, names case-sensitive (`[ASN_ASO]`); the name is what lies between the
//!   `[` and the *last* `]` of the line, as Python's `\[(?P<header>.+)\]` takes it;
//! - `key = value` and `key: value` (the first `=` or `:` splits), option names lower-cased;
//! - whole-line comments starting with `#` or `;` (inline comments are *not* stripped);
//! - continuation lines: a line indented deeper than its key's line continues the value,
//!   joined with `\n`; blank lines inside a value are kept, trailing ones dropped;
//! - `[DEFAULT]`: its options are visible in every section (that exists);
//! - `BasicInterpolation`: `%(name)s` is the value of option `name` of the same section or
//!   `[DEFAULT]`, `%%` is `%`, anything else after `%` is an error, and at most 10 levels of
//!   nesting (Python's `MAX_INTERPOLATION_DEPTH`, so a loop is an error, not a hang);
//! - strict mode: a section (other than `[DEFAULT]`, which Python lets repeat) or a key within
//!   one section given twice is an error.
//!
//! Beyond Python: a UTF-8 byte-order mark is skipped, `\r\n` and lone `\r` end lines (Python's
//! universal newlines), values are trimmed at both ends, and invalid UTF-8 is reported with its
//! line (and key) instead of failing the whole file; invalid UTF-8 in a comment is ignored.
//!
//! Not here: what sections and keys mean, typed values, unknown-key warnings (`config`).

use std::borrow::Cow;
use std::collections::BTreeMap;

/// Python's `configparser.MAX_INTERPOLATION_DEPTH`.
const MAX_INTERPOLATION_DEPTH: usize = 10;

/// The section whose options every other section sees.
pub const DEFAULT_SECTION: &str = "DEFAULT";

/// One option as written: its raw (not interpolated) value and the line of its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub raw: String,
    pub line: usize,
}

/// One `[section]`: its name, the line of its header, its options by lower-cased name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub line: usize,
    pub options: BTreeMap<String, Entry>,
}

/// A parsed file: sections in file order and the `[DEFAULT]` options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ini {
    pub sections: Vec<Section>,
    pub defaults: BTreeMap<String, Entry>,
}

/// An interpolated value and the line of the key that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub text: String,
    pub line: usize,
}

/// Why a file could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The line is not a comment, header, option or continuation, or breaks strict mode.
    #[error("line {line}: {message}")]
    Syntax { line: usize, message: String },
    /// The value of a key is not valid UTF-8.
    #[error("line {line}: [{section}] {key}: {message}")]
    Value {
        line: usize,
        section: String,
        key: String,
        message: String,
    },
}

/// Why the value of a key could not be interpolated; `line` is that key's line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct InterpolationError {
    pub line: usize,
    pub message: String,
}

/// Lines split at `\n`, `\r\n` or a lone `\r`, without their terminator.
fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(bytes).filter(|b| !b.is_empty());
    std::iter::from_fn(move || {
        let bytes = rest?;
        match memchr::memchr2(b'\n', b'\r', bytes) {
            None => {
                rest = None;
                Some(bytes)
            }
            Some(i) => {
                let end = if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                    i + 2
                } else {
                    i + 1
                };
                rest = Some(&bytes[end..]).filter(|b| !b.is_empty());
                Some(&bytes[..i])
            }
        }
    })
}

/// A line as shown in an error: one line, control characters escaped, at most 80 characters.
pub fn shown(text: &str) -> String {
    let escaped: String = text.escape_debug().collect();
    match escaped.char_indices().nth(80) {
        Some((i, _)) => format!("{}...", &escaped[..i]),
        None => escaped,
    }
}

/// The name of a section header line (already trimmed), as Python's `SECTCRE` matches it.
fn section_header(line: &str) -> Option<&str> {
    let rest = line.strip_prefix('[')?;
    let close = rest.rfind(']')?;
    (close > 0).then(|| &rest[..close])
}

/// Where the options of the current line go.
#[derive(Debug, Clone, Copy)]
enum Target {
    Defaults,
    Section(usize),
}

/// Python's `RawConfigParser._read` state.
#[derive(Default)]
struct Parser {
    ini: Ini,
    /// The current section; `None` before the first header.
    target: Option<Target>,
    /// The option continuation lines extend; `None` right after a header.
    option: Option<String>,
    /// Indentation (in characters) of the last header or option line.
    indent_level: usize,
}

impl Parser {
    fn options(&mut self, target: Target) -> &mut BTreeMap<String, Entry> {
        match target {
            Target::Defaults => &mut self.ini.defaults,
            Target::Section(i) => &mut self.ini.sections[i].options,
        }
    }

    fn section_name(&self, target: Target) -> &str {
        match target {
            Target::Defaults => DEFAULT_SECTION,
            Target::Section(i) => &self.ini.sections[i].name,
        }
    }

    /// The entry continuation lines go to, if any.
    fn current_entry(&mut self) -> Option<&mut Entry> {
        let target = self.target?;
        let key = self.option.clone()?;
        self.options(target).get_mut(&key)
    }

    fn line(&mut self, n: usize, raw: &[u8]) -> Result<(), ParseError> {
        // `bad`: byte offset of the first invalid UTF-8 sequence and its first byte.
        let (text, bad) = match std::str::from_utf8(raw) {
            Ok(s) => (Cow::Borrowed(s), None),
            Err(e) => (
                String::from_utf8_lossy(raw),
                Some((e.valid_up_to(), raw[e.valid_up_to()])),
            ),
        };
        let bad_message = |(at, byte): (usize, u8)| {
            format!(
                "not valid UTF-8 (byte 0x{byte:02X} at column {}): the file must be saved as UTF-8",
                at + 1
            )
        };
        let stripped = text.trim();
        if stripped.starts_with('#') || stripped.starts_with(';') {
            return Ok(());
        }
        if stripped.is_empty() {
            // Kept inside a multi-line value; trailing ones are trimmed at the end.
            if let Some(e) = self.current_entry() {
                e.raw.push('\n');
            }
            return Ok(());
        }
        let indent = text.chars().take_while(|c| c.is_whitespace()).count();
        if self.target.is_some() && self.option.is_some() && indent > self.indent_level {
            if let Some(bad) = bad {
                let target = self.target.expect("checked above");
                return Err(ParseError::Value {
                    line: n,
                    section: self.section_name(target).to_owned(),
                    key: self.option.clone().expect("checked above"),
                    message: bad_message(bad),
                });
            }
            if let Some(e) = self.current_entry() {
                e.raw.push('\n');
                e.raw.push_str(stripped);
            }
            return Ok(());
        }
        self.indent_level = indent;
        let syntax = |message: String| ParseError::Syntax { line: n, message };
        if let Some(name) = section_header(stripped) {
            if let Some(bad) = bad {
                return Err(syntax(format!("section header {}", bad_message(bad))));
            }
            self.option = None;
            if name == DEFAULT_SECTION {
                self.target = Some(Target::Defaults);
                return Ok(());
            }
            if let Some(first) = self.ini.sections.iter().find(|s| s.name == name) {
                return Err(syntax(format!(
                    "section [{name}] appears twice (first on line {})",
                    first.line
                )));
            }
            self.ini.sections.push(Section {
                name: name.to_owned(),
                line: n,
                options: BTreeMap::new(),
            });
            self.target = Some(Target::Section(self.ini.sections.len() - 1));
            return Ok(());
        }
        let sep = stripped.find(['=', ':']);
        if sep.is_none() && stripped.starts_with('[') {
            return Err(syntax(if stripped.contains(']') {
                format!("empty section name: `{}`", shown(stripped))
            } else {
                format!("section header without `]`: `{}`", shown(stripped))
            }));
        }
        let Some(target) = self.target else {
            return Err(syntax(format!(
                "`{}` comes before any [section] header",
                shown(stripped)
            )));
        };
        if let Some((at, byte)) = bad {
            // Offsets in `text` equal those in `raw` up to the first invalid byte.
            let lead = text.len() - text.trim_start().len();
            if let Some(sep) = sep.filter(|&sep| at > lead + sep)
                && !stripped[..sep].trim_end().is_empty()
            {
                return Err(ParseError::Value {
                    line: n,
                    section: self.section_name(target).to_owned(),
                    key: stripped[..sep].trim_end().to_lowercase(),
                    message: bad_message((at, byte)),
                });
            }
            return Err(syntax(bad_message((at, byte))));
        }
        let Some(sep) = sep else {
            return Err(syntax(format!(
                "expected `key = value`, `key: value` or a [section] header, got `{}`",
                shown(stripped)
            )));
        };
        let key = stripped[..sep].trim_end().to_lowercase();
        if key.is_empty() {
            return Err(syntax(format!(
                "no key before `{}`: `{}`",
                &stripped[sep..=sep],
                shown(stripped)
            )));
        }
        let section = self.section_name(target).to_owned();
        let options = self.options(target);
        if let Some(first) = options.get(&key) {
            return Err(syntax(format!(
                "key `{key}` appears twice in [{section}] (first on line {})",
                first.line
            )));
        }
        options.insert(
            key.clone(),
            Entry {
                raw: stripped[sep + 1..].trim().to_owned(),
                line: n,
            },
        );
        self.option = Some(key);
        Ok(())
    }

    fn finish(mut self) -> Ini {
        let entries = self.ini.defaults.values_mut().chain(
            self.ini
                .sections
                .iter_mut()
                .flat_map(|s| s.options.values_mut()),
        );
        for e in entries {
            let trimmed = e.raw.trim();
            if trimmed.len() != e.raw.len() {
                e.raw = trimmed.to_owned();
            }
        }
        self.ini
    }
}

impl Ini {
    /// Parses a whole file.
    pub fn parse(bytes: &[u8]) -> Result<Ini, ParseError> {
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        let mut parser = Parser::default();
        for (i, line) in lines(bytes).enumerate() {
            parser.line(i + 1, line)?;
        }
        Ok(parser.finish())
    }

    /// The section named exactly `name` (not `[DEFAULT]`).
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The raw entry of `key` (lower-case) in `section`, else in `[DEFAULT]`; `None` when
    /// `section` does not exist, as Python's `get` raises `NoSectionError` then.
    pub fn raw(&self, section: &str, key: &str) -> Option<&Entry> {
        if section == DEFAULT_SECTION {
            return self.defaults.get(key);
        }
        self.section(section)?
            .options
            .get(key)
            .or_else(|| self.defaults.get(key))
    }

    /// The interpolated value of `key` (lower-case) in `section`, as Python's `get` gives it.
    pub fn get(&self, section: &str, key: &str) -> Result<Option<Value>, InterpolationError> {
        let Some(entry) = self.raw(section, key) else {
            return Ok(None);
        };
        let mut text = String::with_capacity(entry.raw.len());
        self.interpolate(section, key, &entry.raw, 1, &mut text)
            .map_err(|message| InterpolationError {
                line: entry.line,
                message,
            })?;
        Ok(Some(Value {
            text,
            line: entry.line,
        }))
    }

    /// Python's `BasicInterpolation._interpolate_some`: appends `value` (the raw value of
    /// option `owner`) to `out`, expanding references at nesting `depth` (1 at the top).
    fn interpolate(
        &self,
        section: &str,
        owner: &str,
        value: &str,
        depth: usize,
        out: &mut String,
    ) -> Result<(), String> {
        let inside = |message: String| {
            if depth == 1 {
                message
            } else {
                format!("{message}, in the value of `{owner}`")
            }
        };
        if depth > MAX_INTERPOLATION_DEPTH {
            return Err(format!(
                "`%(name)s` references nested more than {MAX_INTERPOLATION_DEPTH} deep (a loop?)"
            ));
        }
        let mut rest = value;
        while let Some(i) = rest.find('%') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(r) = after.strip_prefix('%') {
                out.push('%');
                rest = r;
            } else if let Some(r) = after.strip_prefix('(') {
                // Python's `%\(([^)]+)\)s`.
                let reference = r
                    .find(')')
                    .filter(|&close| close > 0 && r[close + 1..].starts_with('s'));
                let Some(close) = reference else {
                    return Err(inside(format!(
                        "bad interpolation `{}`: expected `%(name)s`, or `%%` for a literal %",
                        shown(&rest[i..])
                    )));
                };
                let name = r[..close].to_lowercase();
                let Some(target) = self.raw(section, &name) else {
                    return Err(inside(format!(
                        "`%({})s` refers to no option `{name}` of [{section}] or [DEFAULT]",
                        shown(&r[..close])
                    )));
                };
                if target.raw.contains('%') {
                    self.interpolate(section, &name, &target.raw, depth + 1, out)?;
                } else {
                    out.push_str(&target.raw);
                }
                rest = &r[close + 2..];
            } else {
                return Err(inside(format!(
                    "a lone `%` in `{}`: write `%%` for a literal %, `%(name)s` for another option",
                    shown(value)
                )));
            }
        }
        out.push_str(rest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Ini {
        Ini::parse(text.as_bytes()).unwrap()
    }

    fn get(ini: &Ini, section: &str, key: &str) -> Option<String> {
        ini.get(section, key).unwrap().map(|v| v.text)
    }

    fn syntax_error(bytes: &[u8]) -> (usize, String) {
        match Ini::parse(bytes).unwrap_err() {
            ParseError::Syntax { line, message } => (line, message),
            e => panic!("not a syntax error: {e:?}"),
        }
    }

    fn interpolation_error(ini: &Ini, section: &str, key: &str) -> (usize, String) {
        let e = ini.get(section, key).unwrap_err();
        (e.line, e.message)
    }

    #[test]
    fn empty_and_comment_only_files() {
        assert_eq!(parse(""), Ini::default());
        assert_eq!(parse("# a\n; b\n\n   \n\t# indented\n"), Ini::default());
    }

    #[test]
    fn both_separators_and_the_first_one_splits() {
        let ini = parse("[s]\na = 1\nb: 2\nc=3\nd:4\ne:f = g\nh = i: j\nempty =\n");
        assert_eq!(get(&ini, "s", "a").as_deref(), Some("1"));
        assert_eq!(get(&ini, "s", "b").as_deref(), Some("2"));
        assert_eq!(get(&ini, "s", "c").as_deref(), Some("3"));
        assert_eq!(get(&ini, "s", "d").as_deref(), Some("4"));
        assert_eq!(get(&ini, "s", "e").as_deref(), Some("f = g"));
        assert_eq!(get(&ini, "s", "h").as_deref(), Some("i: j"));
        assert_eq!(get(&ini, "s", "empty").as_deref(), Some(""));
        assert_eq!(get(&ini, "s", "missing"), None);
    }

    #[test]
    fn keys_and_values_are_trimmed_and_keys_lower_cased() {
        let ini = parse("[s]\n  Working_DIR   =   /var/x   \nÉTÉ = 1\n");
        assert_eq!(get(&ini, "s", "working_dir").as_deref(), Some("/var/x"));
        assert_eq!(get(&ini, "s", "été").as_deref(), Some("1"));
        assert!(
            ini.section("s")
                .unwrap()
                .options
                .contains_key("working_dir")
        );
    }

    #[test]
    fn section_names_are_case_sensitive() {
        let ini = parse("[ASN_ASO]\nasn_db_path = /a\n[paths]\nx = 1\n");
        assert_eq!(get(&ini, "ASN_ASO", "asn_db_path").as_deref(), Some("/a"));
        assert_eq!(get(&ini, "asn_aso", "asn_db_path"), None);
        assert_eq!(get(&ini, "Paths", "x"), None);
        let names: Vec<_> = ini.sections.iter().map(|s| (&*s.name, s.line)).collect();
        assert_eq!(names, [("ASN_ASO", 1), ("paths", 3)]);
    }

    #[test]
    fn section_headers_as_python_matches_them() {
        // The name runs to the last `]`; text after it is ignored; spaces are kept.
        let ini = parse("[paths] ; old comment\na = 1\n[b]]\nc = 2\n[ d ]\ne = 3\n");
        assert_eq!(get(&ini, "paths", "a").as_deref(), Some("1"));
        assert_eq!(get(&ini, "b]", "c").as_deref(), Some("2"));
        assert_eq!(get(&ini, " d ", "e").as_deref(), Some("3"));
    }

    #[test]
    fn only_whole_line_comments() {
        let ini = parse(
            "# top\n[s]\n; semi\n   # indented comment\nurl = http://x/#frag ; not a comment\nb = 1 # neither\n",
        );
        assert_eq!(
            get(&ini, "s", "url").as_deref(),
            Some("http://x/#frag ; not a comment")
        );
        assert_eq!(get(&ini, "s", "b").as_deref(), Some("1 # neither"));
    }

    #[test]
    fn continuation_lines_join_with_newlines() {
        let ini = parse(
            "[journal]\nunits = a.service\n    b.service\n\n  # comment inside\n    c.service\n\n\nnext = 1\n",
        );
        assert_eq!(
            get(&ini, "journal", "units").as_deref(),
            Some("a.service\nb.service\n\nc.service")
        );
        assert_eq!(get(&ini, "journal", "next").as_deref(), Some("1"));
        // A value may start on the next line; it is trimmed.
        let ini = parse("[s]\nlist =\n    a\n    b\n");
        assert_eq!(get(&ini, "s", "list").as_deref(), Some("a\nb"));
    }

    #[test]
    fn indentation_is_relative_to_the_key() {
        // Indented keys at the same depth are keys; deeper lines continue, even `[x]` or `k = v`.
        let ini = parse("[s]\n  a = 1\n  b = 2\n    c = 3\n    [t]\n");
        assert_eq!(get(&ini, "s", "a").as_deref(), Some("1"));
        assert_eq!(get(&ini, "s", "b").as_deref(), Some("2\nc = 3\n[t]"));
        assert_eq!(get(&ini, "s", "c"), None);
        assert!(ini.section("t").is_none());
        // Right after a header, an indented line is a key, not a continuation.
        let ini = parse("[s]\n    a = 1\n");
        assert_eq!(get(&ini, "s", "a").as_deref(), Some("1"));
        // Tabs count as one character of indentation, as in Python.
        let ini = parse("[s]\na = 1\n\tb\n");
        assert_eq!(get(&ini, "s", "a").as_deref(), Some("1\nb"));
    }

    #[test]
    fn default_section_is_seen_by_every_existing_section() {
        let ini =
            parse("[DEFAULT]\nbase = /srv/mls\nlevel = INFO\n[paths]\nlevel = DEBUG\n[general]\n");
        assert_eq!(get(&ini, "paths", "base").as_deref(), Some("/srv/mls"));
        assert_eq!(get(&ini, "paths", "level").as_deref(), Some("DEBUG"));
        assert_eq!(get(&ini, "general", "level").as_deref(), Some("INFO"));
        assert_eq!(get(&ini, "DEFAULT", "level").as_deref(), Some("INFO"));
        // Python: NoSectionError for a section that does not exist.
        assert_eq!(get(&ini, "journal", "base"), None);
        assert!(ini.section("DEFAULT").is_none());
        assert!(!ini.section("paths").unwrap().options.contains_key("base"));
    }

    #[test]
    fn default_may_repeat_but_not_its_keys() {
        let ini = parse("[DEFAULT]\na = 1\n[s]\n[DEFAULT]\nb = 2\n");
        assert_eq!(get(&ini, "s", "a").as_deref(), Some("1"));
        assert_eq!(get(&ini, "s", "b").as_deref(), Some("2"));
        assert_eq!(
            syntax_error(b"[DEFAULT]\na = 1\n[DEFAULT]\nA = 2\n"),
            (
                4,
                "key `a` appears twice in [DEFAULT] (first on line 2)".into()
            )
        );
    }

    #[test]
    fn interpolation() {
        let ini = parse(
            "[DEFAULT]\nbase = /srv/mls\nsub = %(dir)s/sub\n[paths]\ndir = /p\nworking_dir = %(base)s/work\nstate_dir = %(WORKING_DIR)s/state\npct = 100%%\ntwo = %%(base)s and %(base)s%%\n",
        );
        assert_eq!(
            get(&ini, "paths", "working_dir").as_deref(),
            Some("/srv/mls/work")
        );
        assert_eq!(
            get(&ini, "paths", "state_dir").as_deref(),
            Some("/srv/mls/work/state")
        );
        assert_eq!(get(&ini, "paths", "pct").as_deref(), Some("100%"));
        assert_eq!(
            get(&ini, "paths", "two").as_deref(),
            Some("%(base)s and /srv/mls%")
        );
        // A DEFAULT value interpolates with the options of the section it is read from.
        assert_eq!(get(&ini, "paths", "sub").as_deref(), Some("/p/sub"));
        // `%%` inside a referenced value is expanded too.
        let ini = parse("[s]\na = %(b)s!\nb = 5%%\n");
        assert_eq!(get(&ini, "s", "a").as_deref(), Some("5%!"));
        // The raw value stays available.
        assert_eq!(ini.raw("s", "a").unwrap().raw, "%(b)s!");
    }

    #[test]
    fn interpolation_errors_name_the_line_of_the_key() {
        let ini = parse(
            "[a]\nx = %(nope)s\ny = 50%\nz = %(z)s\nw = %(b)x\nv = %()s\nu = %(b\nt = %(y)s\nb = 1\n",
        );
        assert_eq!(
            interpolation_error(&ini, "a", "x"),
            (
                2,
                "`%(nope)s` refers to no option `nope` of [a] or [DEFAULT]".into()
            )
        );
        assert_eq!(
            interpolation_error(&ini, "a", "y"),
            (
                3,
                "a lone `%` in `50%`: write `%%` for a literal %, `%(name)s` for another option"
                    .into()
            )
        );
        assert_eq!(
            interpolation_error(&ini, "a", "z"),
            (
                4,
                "`%(name)s` references nested more than 10 deep (a loop?)".into()
            )
        );
        assert_eq!(
            interpolation_error(&ini, "a", "w"),
            (
                5,
                "bad interpolation `%(b)x`: expected `%(name)s`, or `%%` for a literal %".into()
            )
        );
        assert_eq!(interpolation_error(&ini, "a", "v").0, 6);
        assert_eq!(interpolation_error(&ini, "a", "u").0, 7);
        // An error inside a referenced value names that option, at the line of the key read.
        assert_eq!(
            interpolation_error(&ini, "a", "t"),
            (
                8,
                "a lone `%` in `50%`: write `%%` for a literal %, `%(name)s` for another option, in the value of `y`"
                    .into()
            )
        );
        // Parsing itself does not interpolate: only the keys read can fail.
        assert_eq!(get(&ini, "a", "b").as_deref(), Some("1"));
    }

    #[test]
    fn interpolation_depth_is_pythons() {
        // k0 -> k1 -> ... -> k12 = end. Python: 10 nested references are fine, 11 fail.
        let mut text = String::from("[s]\n");
        for i in 0..12 {
            text.push_str(&format!("k{i} = %(k{})s\n", i + 1));
        }
        text.push_str("k12 = end\n");
        let ini = parse(&text);
        assert_eq!(get(&ini, "s", "k2").as_deref(), Some("end"));
        assert_eq!(get(&ini, "s", "k11").as_deref(), Some("end"));
        let (line, message) = interpolation_error(&ini, "s", "k1");
        assert_eq!(line, 3);
        assert!(message.contains("more than 10 deep"), "{message}");
        assert!(ini.get("s", "k0").is_err());
        // Two options referring to each other.
        let ini = parse("[s]\na = %(b)s\nb = %(a)s\n");
        assert!(interpolation_error(&ini, "s", "a").1.contains("a loop?"));
    }

    #[test]
    fn duplicates_are_errors_with_both_lines() {
        assert_eq!(
            syntax_error(b"[a]\nx = 1\n\nX = 2\n"),
            (4, "key `x` appears twice in [a] (first on line 2)".into())
        );
        assert_eq!(
            syntax_error(b"[a]\nx = 1\n[b]\n[a]\n"),
            (4, "section [a] appears twice (first on line 1)".into())
        );
        // Same key in two sections, or a section overriding DEFAULT: fine.
        let ini = parse("[DEFAULT]\nx = 0\n[a]\nx = 1\n[b]\nx = 2\n");
        assert_eq!(get(&ini, "a", "x").as_deref(), Some("1"));
        assert_eq!(get(&ini, "b", "x").as_deref(), Some("2"));
    }

    #[test]
    fn syntax_errors_name_the_line() {
        assert_eq!(
            syntax_error(b"\n# c\nkey = 1\n"),
            (3, "`key = 1` comes before any [section] header".into())
        );
        assert_eq!(
            syntax_error(b"[a]\njust words\n"),
            (
                2,
                "expected `key = value`, `key: value` or a [section] header, got `just words`"
                    .into()
            )
        );
        assert_eq!(
            syntax_error(b"[a]\n[paths\n"),
            (2, "section header without `]`: `[paths`".into())
        );
        assert_eq!(
            syntax_error(b"[a]\n = 1\n"),
            (2, "no key before `=`: `= 1`".into())
        );
        assert_eq!(
            syntax_error(b"[]\n"),
            (1, "empty section name: `[]`".into())
        );
        assert_eq!(syntax_error(b"[a]\nx = 1\n[]\n").0, 3);
        assert_eq!(
            syntax_error(b"[paths\n"),
            (1, "section header without `]`: `[paths`".into())
        );
    }

    #[test]
    fn line_endings_crlf_cr_and_bom() {
        let ini = Ini::parse(b"\xef\xbb\xbf[s]\r\na = 1\r\n  more\r\n\r\nb = 2\rc = 3").unwrap();
        assert_eq!(get(&ini, "s", "a").as_deref(), Some("1\nmore"));
        assert_eq!(ini.raw("s", "b").unwrap().line, 5);
        assert_eq!(get(&ini, "s", "c").as_deref(), Some("3"));
        assert_eq!(ini.raw("s", "c").unwrap().line, 6);
        // A BOM anywhere else is not skipped (it is not whitespace): here it is part of a key.
        let ini = Ini::parse(b"[s]\n\xef\xbb\xbfa = 1\n").unwrap();
        assert_eq!(get(&ini, "s", "\u{feff}a").as_deref(), Some("1"));
        assert_eq!(lines(b"").count(), 0);
        assert_eq!(lines(b"a\n").collect::<Vec<_>>(), [b"a"]);
        assert_eq!(
            lines(b"a\n\nb").collect::<Vec<_>>(),
            [&b"a"[..], &b""[..], &b"b"[..]]
        );
    }

    #[test]
    fn invalid_utf8_is_reported_with_line_and_key() {
        assert_eq!(
            Ini::parse(b"[report]\n# d\xe9j\xe0 vu\nemail = caf\xe9@example.org\n").unwrap_err(),
            ParseError::Value {
                line: 3,
                section: "report".into(),
                key: "email".into(),
                message:
                    "not valid UTF-8 (byte 0xE9 at column 12): the file must be saved as UTF-8"
                        .into()
            }
        );
        // In a continuation line: the key it continues.
        match Ini::parse(b"[journal]\nunits = a\n  b\xff\n").unwrap_err() {
            ParseError::Value { line, key, .. } => assert_eq!((line, &*key), (3, "units")),
            e => panic!("{e:?}"),
        }
        // In a key, a header or a line that is neither: a syntax error with the line.
        assert_eq!(
            syntax_error(b"[s]\nk\xffy = 1\n"),
            (
                2,
                "not valid UTF-8 (byte 0xFF at column 2): the file must be saved as UTF-8".into()
            )
        );
        assert_eq!(syntax_error(b"[s\xff]\n").0, 1);
        assert_eq!(syntax_error(b"[s]\nwords \xff\n").0, 2);
        // In a comment: ignored.
        assert_eq!(
            get(&Ini::parse(b"[s]\n; \xff\na = 1\n").unwrap(), "s", "a").as_deref(),
            Some("1")
        );
    }

    #[test]
    fn shown_escapes_and_truncates() {
        assert_eq!(shown("a\nb\t\u{7}"), "a\\nb\\t\\u{7}");
        let long = "x".repeat(100);
        assert_eq!(shown(&long), format!("{}...", "x".repeat(80)));
        assert_eq!(shown(&"é".repeat(80)), "é".repeat(80));
    }

    /// Python's `configparser` on the same texts, for `agrees_with_python_configparser`: per
    /// text, `{"error": line}` or `{"ok": {section: {key: value or null}}}` with `DEFAULT`
    /// first, values interpolated (`null` when that fails) and raw values trimmed first.
    const PYTHON: &str = r#"
import configparser, json, sys

def first_error(text):
    p = configparser.ConfigParser()
    try:
        p.read_string(text)
        return None, p
    except configparser.MissingSectionHeaderError as e:
        return e.lineno, None
    except configparser.ParsingError as e:  # collected to the end: the first is first
        return e.errors[0][0], None
    except configparser.Error as e:  # raised at once: an earlier parsing error comes first
        earlier, _ = first_error("\n".join(text.split("\n")[: e.lineno - 1]))
        return earlier or e.lineno, None

out = []
for text in json.load(sys.stdin):
    line, p = first_error(text)
    if p is None:
        out.append({"error": line})
        continue
    for k in list(p._defaults):
        p._defaults[k] = p._defaults[k].strip()
    for s in p._sections.values():
        for k in list(s):
            s[k] = s[k].strip()
    res = {}
    for s in ["DEFAULT"] + p.sections():
        keys = p.defaults().keys() if s == "DEFAULT" else p.options(s)
        vals = {}
        for k in keys:
            try:
                vals[k] = p.get(s, k)
            except configparser.Error:
                vals[k] = None
        res[s] = vals
    out.append({"ok": res})
json.dump(out, sys.stdout)
"#;

    /// Our answer in the shape `PYTHON` prints.
    fn as_python_would_print(text: &str) -> serde_json::Value {
        use serde_json::{Map, Value as Json, json};
        let ini = match Ini::parse(text.as_bytes()) {
            Ok(ini) => ini,
            Err(ParseError::Syntax { line, .. } | ParseError::Value { line, .. }) => {
                return json!({ "error": line });
            }
        };
        let mut sections = Map::new();
        let names = std::iter::once(DEFAULT_SECTION).chain(ini.sections.iter().map(|s| &*s.name));
        for name in names {
            let mut keys: Vec<&String> = ini.defaults.keys().collect();
            if let Some(s) = ini.section(name) {
                keys.extend(s.options.keys());
            }
            let values: Map<String, Json> = keys
                .into_iter()
                .map(|k| {
                    let v = ini.get(name, k).ok().flatten().map(|v| v.text);
                    (k.clone(), v.map_or(Json::Null, Json::String))
                })
                .collect();
            sections.insert(name.to_owned(), Json::Object(values));
        }
        json!({ "ok": sections })
    }

    /// Random files from fragments that exercise every rule (no BOM, lone `\r` or invalid
    /// UTF-8: Python's `read_string` has no such input).
    fn generated_texts(count: usize) -> Vec<String> {
        const FRAGMENTS: &[&str] = &[
            "[s]",
            "[t]",
            "[DEFAULT]",
            "[S]",
            "[s] ; trailing",
            "[a]]",
            "[]",
            "[x",
            "a = 1",
            "A: 2",
            "b = %(a)s/x",
            "c = 100%%",
            "d = 5%",
            "e = %(nope)s",
            "f = %(F)s",
            "g = %(b)s%(c)s",
            "h = %()s",
            "i = %(a)x",
            "b=",
            "a = x = y",
            "k: v = w",
            " = v",
            ": v",
            "garbage",
            "  indented",
            "    a = deeper",
            "\tx",
            "  [t]",
            "",
            "   ",
            "# comment",
            "; comment",
            "  # indented comment",
            "url = http://x/#f ; y",
            "l = %(l)s",
            "m = %(n)s",
            "n = %(m)s",
            "Été = 1",
        ];
        let mut next = crate::random::seeded(0x9e37_79b9_7f4a_7c15);
        (0..count)
            .map(|_| {
                let lines = 1 + next(10);
                let mut text = String::new();
                if next(3) > 0 {
                    text.push_str("[s]\n");
                }
                for _ in 0..lines {
                    text.push_str(FRAGMENTS[next(FRAGMENTS.len())]);
                    text.push('\n');
                }
                text
            })
            .collect()
    }

    #[test]
    fn agrees_with_python_configparser() {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut texts: Vec<String> = [
            "[s]\na = 1\n  b = 2\n\n  # c\n  c\n\n\nd=3\n",
            "[s]\na =\n  x\n",
            "[DEFAULT]\nbase = /srv\nsub = %(dir)s/sub\n[p]\ndir = /p\nw = %(base)s/w\n",
            "[DEFAULT]\na=1\n[DEFAULT]\nb=2\n[s]\n",
            "[s]\n  a = 1\n  b = 2\n    c\n",
            "[s]\na = 1 ; x\nb = 2 # y\n",
            "[s]\nx = 1\ngarbage\nx = 2\n",
            "[s]\nx = 1\n[t]\n[s]\n",
            "\n# only\n\n",
            "a = 1\n",
        ]
        .map(str::to_owned)
        .into();
        let mut chain = String::from("[s]\n");
        for i in 0..12 {
            chain.push_str(&format!("k{i} = %(k{})s\n", i + 1));
        }
        chain.push_str("k12 = end\n");
        texts.push(chain);
        texts.extend(generated_texts(2000));
        let child = Command::new("python3")
            .args(["-c", PYTHON])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            eprintln!("SKIPPED: agrees_with_python_configparser needs python3");
            return;
        };
        let input = serde_json::to_vec(&texts).unwrap();
        child.stdin.take().unwrap().write_all(&input).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "python3 failed");
        let python: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(python.len(), texts.len());
        let mut errors = 0;
        for (text, expected) in texts.iter().zip(&python) {
            assert_eq!(&as_python_would_print(text), expected, "on {text:?}");
            errors += usize::from(expected.get("error").is_some());
        }
        // The generator reaches both outcomes.
        assert!(
            errors > 100 && errors < texts.len() - 100,
            "{errors} errors"
        );
    }
}
