//! INI with the parts of Python's `configparser` that the old tool's users rely on: `[section]`
//! headers (case-sensitive), `key = value` and `key: value`, option names case-insensitive,
//! full-line `#` / `;` comments, indented continuation lines, a `[DEFAULT]` section, and
//! `%(name)s` / `%%` interpolation. Duplicate sections or keys are errors, as in its strict mode.
//!
//! Not here: what the keys mean (`config`).

use std::collections::BTreeMap;

/// One value and the line it started on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub raw: String,
    pub line: usize,
}

/// Sections in file order; options by lower-cased name.
#[derive(Debug, Default, Clone)]
pub struct Ini {
    pub sections: Vec<(String, usize, BTreeMap<String, Entry>)>,
    pub defaults: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct IniError {
    pub line: usize,
    pub message: String,
}

fn err(line: usize, message: impl Into<String>) -> IniError {
    IniError {
        line,
        message: message.into(),
    }
}

impl Ini {
    pub fn parse(bytes: &[u8]) -> Result<Ini, IniError> {
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        let mut ini = Ini::default();
        // Which map the current options go to: None before any header, Some(None) = DEFAULT.
        let mut current: Option<Option<usize>> = None;
        // The option a continuation line extends: (key, indent of its line).
        let mut last: Option<(String, usize)> = None;
        for (i, raw_line) in bytes.split(|&b| b == b'\n').enumerate() {
            let n = i + 1;
            let line = std::str::from_utf8(raw_line)
                .map_err(|_| err(n, "not valid UTF-8"))?
                .trim_end_matches('\r');
            let trimmed = line.trim();
            let indent = line.len() - line.trim_start().len();
            if trimmed.is_empty() {
                // configparser keeps blank lines inside a multi-line value only when more
                // continuation follows; trailing ones are dropped at the end.
                if let Some((key, _)) = &last
                    && let Some(e) = ini.entry_mut(current, key)
                {
                    e.raw.push('\n');
                }
                continue;
            }
            if trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            if let Some((key, key_indent)) = &last
                && indent > *key_indent
            {
                let key = key.clone();
                if let Some(e) = ini.entry_mut(current, &key) {
                    let kept = e.raw.trim_end_matches('\n').len();
                    let blanks = e.raw.len() - kept;
                    e.raw.truncate(kept);
                    for _ in 0..blanks {
                        e.raw.push('\n');
                    }
                    e.raw.push('\n');
                    e.raw.push_str(trimmed);
                }
                continue;
            }
            last = None;
            if let Some(rest) = trimmed.strip_prefix('[') {
                let name = rest
                    .strip_suffix(']')
                    .ok_or_else(|| err(n, format!("section header without `]`: {trimmed}")))?;
                if name == "DEFAULT" {
                    current = Some(None);
                } else {
                    if ini.sections.iter().any(|(s, _, _)| s == name) {
                        return Err(err(n, format!("section [{name}] appears twice")));
                    }
                    ini.sections.push((name.to_owned(), n, BTreeMap::new()));
                    current = Some(Some(ini.sections.len() - 1));
                }
                continue;
            }
            let Some(section) = current else {
                return Err(err(
                    n,
                    format!("`{trimmed}` comes before any [section] header"),
                ));
            };
            let sep = trimmed
                .find(['=', ':'])
                .ok_or_else(|| err(n, format!("expected `key = value`, got `{trimmed}`")))?;
            let key = trimmed[..sep].trim().to_lowercase();
            if key.is_empty() {
                return Err(err(n, "empty key"));
            }
            let value = trimmed[sep + 1..].trim().to_owned();
            let map = match section {
                None => &mut ini.defaults,
                Some(i) => &mut ini.sections[i].2,
            };
            if map.contains_key(&key) {
                return Err(err(n, format!("key `{key}` appears twice in this section")));
            }
            map.insert(
                key.clone(),
                Entry {
                    raw: value,
                    line: n,
                },
            );
            last = Some((key, indent));
        }
        for e in ini
            .defaults
            .values_mut()
            .chain(ini.sections.iter_mut().flat_map(|s| s.2.values_mut()))
        {
            let kept = e.raw.trim_end_matches('\n').len();
            e.raw.truncate(kept);
        }
        Ok(ini)
    }

    fn entry_mut(&mut self, current: Option<Option<usize>>, key: &str) -> Option<&mut Entry> {
        match current? {
            None => self.defaults.get_mut(key),
            Some(i) => self.sections[i].2.get_mut(key),
        }
    }

    pub fn section(&self, name: &str) -> Option<&BTreeMap<String, Entry>> {
        self.sections
            .iter()
            .find(|(s, _, _)| s == name)
            .map(|(_, _, m)| m)
    }

    /// The raw entry of `key` in `section`, falling back to `[DEFAULT]`.
    pub fn raw(&self, section: &str, key: &str) -> Option<&Entry> {
        self.section(section)
            .and_then(|m| m.get(key))
            .or_else(|| self.defaults.get(key))
    }

    /// The interpolated value of `key` in `section` (`%(name)s` from the same section or
    /// DEFAULT, `%%` for `%`), with the line it was defined on.
    pub fn get(&self, section: &str, key: &str) -> Result<Option<(String, usize)>, IniError> {
        let Some(e) = self.raw(section, key) else {
            return Ok(None);
        };
        Ok(Some((
            self.interpolate(section, &e.raw, e.line, 0)?,
            e.line,
        )))
    }

    fn interpolate(
        &self,
        section: &str,
        value: &str,
        line: usize,
        depth: usize,
    ) -> Result<String, IniError> {
        if depth > 10 {
            return Err(err(line, "interpolation nested too deeply (a loop?)"));
        }
        let mut out = String::with_capacity(value.len());
        let mut rest = value;
        while let Some(i) = rest.find('%') {
            out.push_str(&rest[..i]);
            rest = &rest[i + 1..];
            if let Some(r) = rest.strip_prefix('%') {
                out.push('%');
                rest = r;
            } else if let Some(r) = rest.strip_prefix('(') {
                let close = r
                    .find(")s")
                    .ok_or_else(|| err(line, format!("bad interpolation syntax in `{value}`")))?;
                let name = r[..close].to_lowercase();
                let target = self.raw(section, &name).ok_or_else(|| {
                    err(
                        line,
                        format!("`%({name})s` refers to no option of [{section}] or [DEFAULT]"),
                    )
                })?;
                out.push_str(&self.interpolate(section, &target.raw, line, depth + 1)?);
                rest = &r[close + 2..];
            } else {
                return Err(err(
                    line,
                    format!("`%` must be written `%%` or start `%(name)s`, in `{value}`"),
                ));
            }
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(ini: &Ini, s: &str, k: &str) -> Option<String> {
        ini.get(s, k).unwrap().map(|(v, _)| v)
    }

    #[test]
    fn sections_keys_comments_and_separators() {
        let ini = Ini::parse(
            b"\xef\xbb\xbf# comment\n; another\n[paths]\nWorking_Dir = /var/x\r\nmail_log: /var/log/mail.log\n  \n[ASN_ASO]\nasn_db_path=/a # not a comment\n",
        )
        .unwrap();
        assert_eq!(get(&ini, "paths", "working_dir").as_deref(), Some("/var/x"));
        assert_eq!(
            get(&ini, "paths", "mail_log").as_deref(),
            Some("/var/log/mail.log")
        );
        assert_eq!(
            get(&ini, "ASN_ASO", "asn_db_path").as_deref(),
            Some("/a # not a comment")
        );
        assert_eq!(
            get(&ini, "asn_aso", "asn_db_path"),
            None,
            "section names are case-sensitive"
        );
        assert_eq!(ini.raw("paths", "mail_log").unwrap().line, 5);
    }

    #[test]
    fn continuation_lines_join_with_newlines() {
        let ini =
            Ini::parse(b"[journal]\nunits = a.service\n    b.service\n\n    c.service\nnext = 1\n")
                .unwrap();
        assert_eq!(
            get(&ini, "journal", "units").as_deref(),
            Some("a.service\nb.service\n\nc.service")
        );
        assert_eq!(get(&ini, "journal", "next").as_deref(), Some("1"));
    }

    #[test]
    fn default_section_and_interpolation() {
        let ini = Ini::parse(
            b"[DEFAULT]\nbase = /srv/mls\n[paths]\nworking_dir = %(base)s/work\nstate_dir = %(WORKING_DIR)s/state\npct = 100%%\n",
        )
        .unwrap();
        assert_eq!(
            get(&ini, "paths", "working_dir").as_deref(),
            Some("/srv/mls/work")
        );
        assert_eq!(
            get(&ini, "paths", "state_dir").as_deref(),
            Some("/srv/mls/work/state")
        );
        assert_eq!(get(&ini, "paths", "pct").as_deref(), Some("100%"));
        assert_eq!(get(&ini, "other", "base").as_deref(), Some("/srv/mls"));
    }

    #[test]
    fn interpolation_errors_name_the_line() {
        let ini = Ini::parse(b"[a]\nx = %(nope)s\ny = 50%\nz = %(z)s\n").unwrap();
        assert_eq!(ini.get("a", "x").unwrap_err().line, 2);
        assert!(ini.get("a", "y").unwrap_err().message.contains("%%"));
        assert!(ini.get("a", "z").unwrap_err().message.contains("deeply"));
    }

    #[test]
    fn syntax_errors_name_the_line() {
        for (text, line) in [
            (&b"key = 1\n"[..], 1),
            (b"[a]\njust words\n", 2),
            (b"[a]\nx = 1\nX = 2\n", 3),
            (b"[a]\n[b]\n[a]\n", 3),
            (b"[a\n", 1),
            (b"[a]\nx = \xff\n", 2),
            (b"[a]\n = 1\n", 2),
        ] {
            assert_eq!(Ini::parse(text).unwrap_err().line, line, "{text:?}");
        }
    }
}
