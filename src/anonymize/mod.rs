//! `anonymize`: rewrites mail logs for sharing (a bug report, a question on a list) so that
//! no address, user, host name, session or queue id of the input is left, while the tool
//! still reads them the same: `parse` of the output counts the same events by service,
//! protocol and outcome as of the input.
//!
//! Every replacement is a keyed function of the value alone, so it is consistent across
//! lines, files and runs under one key, and unrelated without it:
//! - addresses by Crypto-PAn (`cryptopan`): prefix-preserving, a /24 or /64 stays one network;
//!   `::ffff:a.b.c.d` keeps its form with the IPv4 part mapped as the plain address is;
//! - users by `u` and ten letters or digits, mail addresses as `local@domain` with both parts
//!   replaced; host names by `h` and eight characters, keeping the top-level domain (a user
//!   name that is really a password someone typed is replaced like any user);
//! - Dovecot session ids and Postfix queue ids by strings of the same length and alphabet.
//!
//! Which bytes are a user or a session is first what the detectors read in an authentication
//! line (the very spans `parse` takes), then field names (`user=<`, `sasl_username=`,
//! `session=<`, `helo=<`, `from=<`, `to=<`), shapes (`host[addr]`, `a@b`, dotted names, the
//! queue id opening a Postfix message) in any line; and ids that only a program's field names
//! give away (amavis's `Queue-ID: `, the session id in Dovecot's LMTP reply that Postfix logs).
//!
//! Not here: reading the inputs and the threads (`cli::anonymize`).

mod bytemap;
pub mod cryptopan;
mod memo;
mod nameprf;

use std::collections::HashMap;
use std::net::IpAddr;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::detect::{self, Observation, Prefilter};
use crate::envelope::{
    self,
    timestamp::{Clock, YearRule},
};
use crate::runs::{self, Run};
use crate::source;
use bytemap::ByteMap;
use cryptopan::CryptoPan;
use memo::Memo;
use nameprf::NamePrf;

/// The secrets of one key file: the Crypto-PAn key and the names' key, both derived from the
/// file's bytes (so any file of at least [`Key::MIN_BYTES`] random bytes will do).
#[derive(Clone)]
pub struct Key {
    pan: [u8; 32],
    /// An AES-128 key.
    names: [u8; 16],
}

impl Key {
    pub const MIN_BYTES: usize = 16;

    pub fn from_secret(secret: &[u8]) -> Result<Key, String> {
        if secret.len() < Key::MIN_BYTES {
            return Err(format!(
                "the key file holds {} bytes; it needs at least {} random ones (head -c 32 /dev/urandom > FILE)",
                secret.len(),
                Key::MIN_BYTES
            ));
        }
        let derive = |label: &[u8]| -> [u8; 32] {
            let mut mac =
                <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(secret).expect("any length");
            mac.update(label);
            mac.finalize().into_bytes().into()
        };
        Ok(Key {
            pan: derive(b"maillogsentinel anonymize addresses"),
            names: derive(b"maillogsentinel anonymize names")[..16]
                .try_into()
                .expect("16 of 32 bytes"),
        })
    }
}

/// Addresses remembered, of each kind: a bounded memory whatever the log's size.
const REMEMBERED: usize = 100_000;

/// The sizes of the names' tables, by [`Kind`] (2^bits slots of 128 bytes): users and host
/// names come back all along (64 KiB each), a session or a queue id only in the next lines
/// (16 KiB each), a password Dovecot logged seldom (2 KiB). Small enough to stay in a core's
/// own cache beside the chunk: a name made again costs less than a table that a lookup waits
/// for (on the generated log, tables 8 times as large found 90% of the users again instead of
/// 80%, 98% of the host names instead of 93%, and made the rewrite 5% slower).
const MEMO_BITS: [u32; 5] = [9, 9, 7, 7, 4];

/// What a replaced name is (each kind its own pseudonyms and its own `remembered`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    User,
    Host,
    Session,
    Queue,
    /// What a user typed as password (Dovecot's `auth_verbose_passwords`), or its SHA1.
    Password,
}

/// Texts and what they became (a fast hash seeded per process: the texts are an attacker's).
type Replacements = HashMap<Box<[u8]>, Box<[u8]>, foldhash::fast::RandomState>;

/// Rewrites lines; keeps the replacements it made (each worker thread has its own: the
/// replacements depend on the key alone).
pub struct Anonymizer {
    /// What the names and addresses become.
    pseudonyms: Pseudonyms,
    /// Which lines the detectors look at (as in `parse`).
    prefilter: Prefilter,
    /// The current chunk's words.
    map: ByteMap,
    /// The current chunk's candidate lines (their starts; kept for the allocation).
    candidates: Vec<usize>,
    /// For the envelope's split only: the instants are not used.
    clock: Clock,
    /// The current line's spans, when the detectors took some (kept for its allocation).
    spans: Vec<Replace>,
    /// Every program's, with their searchers.
    program_fields: Vec<ProgramField>,
    /// Lines left out for being longer than [`source::MAX_LINE`].
    pub lines_too_long: u64,
}

/// Makes the replacements and remembers them.
struct Pseudonyms {
    /// Addresses.
    pan: CryptoPan,
    /// Every other name.
    names: NamePrf,
    /// Names (by [`Kind`]) and their pseudonyms, lately made (tables of [`MEMO_BITS`]).
    remembered: [Memo; 5],
    /// IPv6 and mapped address texts and what they became (up to [`REMEMBERED`]).
    addresses: Replacements,
    /// The last log host and its pseudonym.
    log_host: LogHost,
    /// IPv4 addresses and their replacement's text (most addresses: no text to hash; up to
    /// [`REMEMBERED`]).
    v4: HashMap<u32, ([u8; 15], u8), foldhash::fast::RandomState>,
    /// IPv4 texts lately replaced and their replacements.
    v4_texts: V4Texts,
}

/// The last log host and its pseudonym (padded with zeros to at least [`LogHost::FIXED`]
/// bytes, `len` of them the pseudonym).
#[derive(Default)]
struct LogHost {
    text: Box<[u8]>,
    padded: Box<[u8]>,
    len: usize,
}

impl LogHost {
    /// The pseudonyms copied in this fixed size: `h`, 8 characters, a top-level domain.
    const FIXED: usize = 32;
}

/// IPv4 address texts and their replacements, direct-mapped by the text (a slot of 32 bytes:
/// the text in two words, the replacement): an address that comes back is neither read nor
/// looked up by its value again.
struct V4Texts(Box<[V4Slot]>);

#[derive(Clone, Copy, Default)]
#[repr(C, align(32))]
struct V4Slot {
    /// The text's words, its length in the last byte (0: an empty slot).
    key: [u64; 2],
    done: [u8; 15],
    done_len: u8,
}

impl V4Texts {
    const BITS: u32 = 14;

    fn new() -> V4Texts {
        V4Texts(vec![V4Slot::default(); 1 << Self::BITS].into_boxed_slice())
    }

    /// The text's key (its words, its length in the last byte: a text is at most 15 bytes) and
    /// slot.
    fn place(text: &[u8]) -> Option<([u64; 2], usize)> {
        let [low, high] = detect::dotted_quad_words(text)?;
        let key = [low, high | (text.len() as u64) << 56];
        let hash = (low ^ key[1].rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        Some((key, (hash >> (64 - Self::BITS)) as usize))
    }

    /// The replacement of `text`, if remembered: the slot's bytes and how many of them.
    fn get(&self, text: &[u8]) -> Option<(&[u8; 15], usize)> {
        let (key, i) = Self::place(text)?;
        let slot = &self.0[i];
        (slot.key == key).then_some((&slot.done, usize::from(slot.done_len)))
    }

    fn put(&mut self, text: &[u8], done: &[u8]) {
        if let Some((key, i)) = Self::place(text) {
            let slot = &mut self.0[i];
            slot.key = key;
            slot.done[..done.len()].copy_from_slice(done);
            slot.done_len = done.len() as u8;
        }
    }
}

/// A line's message being scanned.
struct Message<'a> {
    map: &'a ByteMap,
    line: &'a [u8],
    /// Where `line` starts in the mapped chunk.
    base: usize,
    /// Where the message starts in `line`.
    from: usize,
}

/// Where the spans that a scan finds go, in the line's order.
trait Sink {
    /// Whether `at` is in a span known before the scan (those are written whole).
    fn taken(&self, at: usize) -> bool;
    /// Whether the word at `start..end` is an IPv4 address replaced lately, then written: an
    /// address that comes back is not read again.
    fn known_v4(&mut self, start: usize, end: usize) -> bool;
    fn span(&mut self, start: usize, end: usize, kind: Replacement);
}

/// A line the detectors took nothing from: each span written as soon as found (its kind known
/// where it is found, not looked at again).
struct Direct<'a> {
    pseudonyms: &'a mut Pseudonyms,
    /// The chunk, and where the line starts in it (the spans' places are the line's).
    chunk: &'a [u8],
    base: usize,
    out: &'a mut Vec<u8>,
    /// How much of the chunk is written: what is left after the line's last span (its end,
    /// the next line's header) is written with the next line's first span, in one copy.
    at: usize,
}

impl Sink for Direct<'_> {
    fn taken(&self, _: usize) -> bool {
        false
    }

    #[inline(always)]
    fn known_v4(&mut self, start: usize, end: usize) -> bool {
        let (start, end) = (self.base + start, self.base + end);
        let Some((&done, len)) = self.pseudonyms.v4_texts.get(&self.chunk[start..end]) else {
            return false;
        };
        if !self.write_up_to(start) {
            return false;
        }
        extend_prefix(self.out, &done, len);
        self.at = end;
        true
    }

    #[inline(always)]
    fn span(&mut self, start: usize, end: usize, kind: Replacement) {
        let (start, end) = (self.base + start, self.base + end);
        if self.write_up_to(start) {
            self.pseudonyms
                .write(&self.chunk[start..end], kind, self.out);
            self.at = end;
        }
    }
}

impl Direct<'_> {
    /// Writes the chunk up to `start`, where a span starts; false for a span inside one
    /// already written (the detectors' spans and the scan's can overlap; never a panic).
    #[inline(always)]
    fn write_up_to(&mut self, start: usize) -> bool {
        if start < self.at {
            return false;
        }
        self.out.extend_from_slice(&self.chunk[self.at..start]);
        true
    }
}

/// A line with spans known before the scan (the first `known`: the detectors', the program's
/// fields'): the scan's are added after them, all written in order once the scan is done.
struct Collected<'a> {
    spans: &'a mut Vec<Replace>,
    known: usize,
}

impl Sink for Collected<'_> {
    fn taken(&self, at: usize) -> bool {
        inside(&self.spans[..self.known], at)
    }

    fn known_v4(&mut self, _: usize, _: usize) -> bool {
        false
    }

    fn span(&mut self, start: usize, end: usize, kind: Replacement) {
        self.spans.push(span(start, end, kind));
    }
}

/// A span of the message to write otherwise.
struct Replace {
    start: usize,
    end: usize,
    kind: Replacement,
}

#[derive(Clone, Copy)]
enum Replacement {
    Name(Kind),
    /// A user or a mail address, by its shape.
    Mailbox,
    Address,
    /// An IPv4 address, read.
    V4(u32),
}

/// Byte classes of [`CLASS`]: the bytes whose presence in a word says what it may be.
const DOT: u8 = 1;
const COLON: u8 = 2;
const AT: u8 = 4;
const SLASH: u8 = 8;
/// Neither a hexadecimal digit, nor `.` or `:`.
const NOT_IN_ADDRESS: u8 = 16;

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if !(b.is_ascii_hexdigit() || b == b'.' || b == b':') {
            t[c] |= NOT_IN_ADDRESS;
        }
        c += 1;
    }
    t[b'.' as usize] = DOT;
    t[b':' as usize] = COLON;
    t[b'@' as usize] = AT;
    t[b'/' as usize] = SLASH;
    t
};

/// The programs whose lines hold ids (or passwords) that only a field name gives away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Program {
    Amavis,
    /// Dovecot's auth processes, through syslog (`dovecot`) or in its own log file.
    DovecotAuth,
    PostfixBounce,
    PostfixLmtp,
}

impl Program {
    /// Whether a line of the program may hold one of its fields (asked first: most Dovecot
    /// lines end with no password, and are no debug or error line).
    #[inline(always)]
    fn may_hold_fields(self, message: &[u8]) -> bool {
        self != Program::DovecotAuth
            || matches!(message.last(), Some(b')' | b'b' | b'\'' | b'd'))
            || is_debug_or_error(message)
    }

    /// The program of a line's tag (`amavis`, `amavisd`; `postfix/bounce`, and the same of
    /// another Postfix instance: `postfix-out/bounce`).
    #[inline(always)]
    fn of(tag: &[u8]) -> Option<Program> {
        // Told apart by a byte first: every line asks.
        match (tag.first(), tag.last()) {
            (Some(b'a'), _) if tag.starts_with(b"amavis") => Some(Program::Amavis),
            (Some(b'a'), _) if tag == b"auth" || tag == b"auth-worker" => {
                Some(Program::DovecotAuth)
            }
            (Some(b'd'), _) if tag == b"dovecot" => Some(Program::DovecotAuth),
            (_, Some(b'e')) if tag.ends_with(b"/bounce") => Some(Program::PostfixBounce),
            (_, Some(b'p')) if tag.ends_with(b"/lmtp") => Some(Program::PostfixLmtp),
            _ => None,
        }
    }
}

/// Whether a Dovecot auth message is a debug or an error line: `Debug: …` in Dovecot's own
/// log, `auth: Error: …` or `auth-worker(N): Debug: …` through syslog.
fn is_debug_or_error(message: &[u8]) -> bool {
    let level = |m: &[u8]| m.starts_with(b"Debug: ") || m.starts_with(b"Error: ");
    level(message)
        || message.starts_with(b"auth")
            && memchr::memchr(b':', &message[..message.len().min(32)])
                .is_some_and(|colon| message[colon + 1..].strip_prefix(b" ").is_some_and(level))
}

/// Ids with no shape of their own (an upper-case hexadecimal word, a random string) that a
/// program writes by a text (its field name, or what follows the id): replaced as the same ids
/// are where their place gives them away, so that the lines still go together. And the
/// passwords Dovecot writes, which have no shape at all.
const PROGRAM_FIELDS: [(Program, &[u8], Side, Kind); 9] = [
    // `Queue-ID: 4F2A81C0D3, ... queued_as: 5B1FC1C0D4, 1882 ms` (amavisd-new's log of a
    // message passed or blocked).
    (Program::Amavis, b"Queue-ID: ", Side::After, Kind::Queue),
    (Program::Amavis, b"queued_as: ", Side::After, Kind::Queue),
    // `4F2A81C0D3: sender non-delivery notification: 5B1FC1C0D4` (and `delay`, `delivery
    // status`, `postmaster` notifications).
    (
        Program::PostfixBounce,
        b"notification: ",
        Side::After,
        Kind::Queue,
    ),
    // Dovecot's LMTP reply, last in the line: `status=sent (250 2.0.0 <alice@example.org>
    // SESSION Saved)`, the session id that Dovecot's `lmtp(alice)<pid><SESSION>` line has.
    (
        Program::PostfixLmtp,
        b" Saved)",
        Side::Ending,
        Kind::Session,
    ),
    // `Password mismatch (given password: PASSWORD)`, `unknown user (SHA1 of given password:
    // HEX)`, then maybe ` - trying the next passdb` (`auth_verbose_passwords`); also after
    // PAM's `(password mismatch?)` (`auth_debug_passwords`).
    (
        Program::DovecotAuth,
        b"given password: ",
        Side::Closing,
        Kind::Password,
    ),
    // `SCHEME(PASSWORD) != 'HASH'`, maybe `, try S scheme instead` after it
    // (`auth_debug_passwords`).
    (
        Program::DovecotAuth,
        b") != '",
        Side::Argument,
        Kind::Password,
    ),
    (
        Program::DovecotAuth,
        b") != '",
        Side::Quoted,
        Kind::Password,
    ),
    // `Debug: passwd-file(alice,…): Credentials: HEX` of a login that succeeded, and `Error:
    // …: Invalid password 'HASH' in passdb: ERROR` (the stored password, with
    // `auth_debug_passwords`).
    (
        Program::DovecotAuth,
        b": Credentials: ",
        Side::Until(b""),
        Kind::Password,
    ),
    (
        Program::DovecotAuth,
        b": Invalid password '",
        Side::Until(b"' in passdb: "),
        Kind::Password,
    ),
];

/// Where a field's value is, by its text.
#[derive(Debug, Clone, Copy)]
enum Side {
    /// Right after it.
    After,
    /// The word right before it, after `> `, when it ends the message (no word after it, and
    /// none of its shape is a candidate: it is written after the scan's spans).
    Ending,
    /// All after it up to the `)` that ends the message (or the message before ` - trying the
    /// next passdb` or `userdb`), whatever it holds.
    Closing,
    /// All after its last place up to the `'` that ends the message (before a `, try S scheme
    /// instead`).
    Quoted,
    /// All before its last place, from the `(` of the `SCHEME(` that opens the message after
    /// the passdb's `driver(user,…): `.
    Argument,
    /// All after its last place (a user's name may hold the text, what Dovecot writes after
    /// it cannot) up to the last place of the text given after it, or to the message's end
    /// when the text given is empty.
    Until(&'static [u8]),
}

/// A field of [`PROGRAM_FIELDS`], with its text's searcher.
struct ProgramField {
    program: Program,
    text: memchr::memmem::Finder<'static>,
    side: Side,
    kind: Kind,
}

impl ProgramField {
    fn all() -> Vec<ProgramField> {
        PROGRAM_FIELDS
            .iter()
            .map(|&(program, text, side, kind)| ProgramField {
                program,
                text: memchr::memmem::Finder::new(text),
                side,
                kind,
            })
            .collect()
    }

    /// Adds the spans of `program`'s fields in `message` (at `from` in its line) to `spans`,
    /// but the [`Side::Ending`] one, which it gives (apart from the line's code: few
    /// lines call for it).
    #[inline(never)]
    fn spans(
        fields: &[ProgramField],
        program: Program,
        message: &[u8],
        from: usize,
        spans: &mut Vec<Replace>,
    ) -> Option<Replace> {
        let mut ending = None;
        for field in fields.iter().filter(|f| f.program == program) {
            if let Some(r) = field.find(message) {
                let s = span(from + r.start, from + r.end, Replacement::Name(field.kind));
                if let Side::Ending = field.side {
                    ending = Some(s);
                } else {
                    spans.push(s);
                }
            }
        }
        ending
    }

    /// Where the value is in `message`, if the field is there.
    fn find(&self, message: &[u8]) -> Option<std::ops::Range<usize>> {
        // An id's letters: base64 for a session, letters and digits for a queue id.
        let is_id = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/');
        let text = self.text.needle();
        let range = match self.side {
            Side::After => {
                let start = self.text.find(message)? + text.len();
                start..start + message[start..].iter().take_while(|c| is_id(c)).count()
            }
            Side::Ending => {
                let before = message.strip_suffix(text)?;
                let at = before.len();
                let start = at - before.iter().rev().take_while(|c| is_id(c)).count();
                if !before[..start].ends_with(b"> ") {
                    return None;
                }
                start..at
            }
            Side::Closing => {
                let body = [
                    &b" - trying the next passdb"[..],
                    b" - trying the next userdb",
                ]
                .iter()
                .find_map(|next| message.strip_suffix(*next))
                .unwrap_or(message)
                .strip_suffix(b")")?;
                let start = self.text.find(body)? + text.len();
                start..body.len()
            }
            Side::Until(close) => {
                let start = memchr::memmem::rfind(message, text)? + text.len();
                start..start + memchr::memmem::rfind(&message[start..], close)?
            }
            Side::Quoted | Side::Argument => {
                // Before Dovecot's hint of the scheme the password would have matched; the
                // hash quoted last (asked first: most lines end otherwise).
                let body = if message.ends_with(b" scheme instead")
                    && let Some(quote) = memchr::memmem::rfind(message, b"', try ")
                {
                    &message[..=quote]
                } else {
                    message
                };
                if !body.ends_with(b"'") {
                    return None;
                }
                // The last: a password may hold the text, a hash cannot.
                let at = memchr::memmem::rfind(body, text)?;
                if let Side::Quoted = self.side {
                    at + text.len()..body.strip_suffix(b"'")?.len()
                } else {
                    let scheme = memchr::memmem::find(&body[..at], b"): ")? + 3;
                    let name = body[scheme..at]
                        .iter()
                        .take_while(|c| {
                            c.is_ascii_uppercase()
                                || c.is_ascii_digit()
                                || matches!(c, b'-' | b'_' | b'.')
                        })
                        .count();
                    if name == 0 || body[scheme + name] != b'(' {
                        return None;
                    }
                    scheme + name + 1..at
                }
            }
        };
        (!range.is_empty()).then_some(range)
    }
}

/// Field names whose value, up to `>`, is a user or a mail address.
const MAILBOX_FIELDS: [&[u8]; 4] = [b"user=<", b"from=<", b"to=<", b"orig_to=<"];
/// Field names whose value, up to the word's end, is a user or a mail address.
const USER_FIELDS: [&[u8]; 3] = [b"sasl_username=", b"sasl_sender=", b"user="];

impl Anonymizer {
    pub fn new(key: &Key) -> Anonymizer {
        Anonymizer {
            pseudonyms: Pseudonyms {
                pan: CryptoPan::new(&key.pan),
                remembered: MEMO_BITS.map(Memo::new),
                names: NamePrf::new(&key.names),
                addresses: Replacements::default(),
                log_host: LogHost::default(),
                v4: HashMap::default(),
                v4_texts: V4Texts::new(),
            },
            prefilter: Prefilter::default(),
            map: ByteMap::default(),
            candidates: Vec::new(),
            // The instants are not used: the rule that splits fastest (a year found once a
            // minute of log).
            clock: Clock::new(jiff::tz::TimeZone::UTC, YearRule::NotAfter(0)),
            spans: Vec::new(),
            program_fields: ProgramField::all(),
            lines_too_long: 0,
        }
    }

    /// Appends `chunk` (whole lines, each ending with a newline) rewritten to `out`.
    pub fn chunk(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let needles_mapped = self.map.fill(chunk);
        self.mapped_chunk(chunk, needles_mapped, out);
    }

    /// [`Anonymizer::chunk`] once `chunk` is mapped (`needles_mapped`: the needles' ends too).
    fn mapped_chunk(&mut self, chunk: &[u8], needles_mapped: bool, out: &mut Vec<u8>) {
        // The lines `parse` would give the detectors: those where the map finds a needle's
        // end, or else the prefilter's, by their starts.
        let mut candidates = std::mem::take(&mut self.candidates);
        candidates.clear();
        if !needles_mapped {
            self.prefilter.for_each_candidate(chunk, |line| {
                candidates.push(line.as_ptr() as usize - chunk.as_ptr() as usize);
            });
        }
        let mut next_candidate = candidates.iter().copied().peekable();
        let (mut start, mut written) = (0, 0);
        while let Some(end) = self.map.next_newline(start) {
            let candidate = if needles_mapped {
                self.map.has_needle(chunk, start, end)
            } else {
                next_candidate.next_if_eq(&start).is_some()
            };
            if source::is_too_long(&chunk[start..end]) {
                // Left out, as `parse` skips it: what is before it written, it not.
                out.extend_from_slice(&chunk[written..start]);
                written = end + 1;
                self.lines_too_long += 1;
            } else {
                written = self.line(chunk, start..end, written, candidate, out);
            }
            start = end + 1;
        }
        // The rest of the last line, its newline (not what follows, if the chunk ends
        // without one).
        out.extend_from_slice(&chunk[written..start]);
        self.candidates = candidates;
    }

    /// Appends the line at `range` of `chunk` (without its newline) rewritten to `out`, from
    /// `written` (a place in the chunk up to which it is written, at or before the line's
    /// start) up to its last replacement; says up to where it wrote.
    fn line(
        &mut self,
        chunk: &[u8],
        range: std::ops::Range<usize>,
        written: usize,
        candidate: bool,
        out: &mut Vec<u8>,
    ) -> usize {
        let base = range.start;
        let line = &chunk[range];
        let parsed = envelope::parse_line(line, &mut self.clock);
        let offset = |part: &[u8]| part.as_ptr() as usize - line.as_ptr() as usize;
        // The header up to the message: the log host its only name.
        let mut at = written;
        if let Some(host) = parsed.host {
            let host_at = base + offset(host);
            out.extend_from_slice(&chunk[written..host_at]);
            self.pseudonyms.write_log_host(host, out);
            at = host_at + host.len();
        }
        let message = Message {
            map: &self.map,
            line,
            base,
            from: offset(parsed.message),
        };
        // What the detectors read: exactly the spans parse takes as user and session.
        let mut spans = std::mem::take(&mut self.spans);
        spans.clear();
        if candidate
            && let Some(
                Observation::Failure(a)
                | Observation::SaslFailure(a)
                | Observation::Success(a)
                | Observation::Check(a, _)
                | Observation::Ambiguous(a),
            ) = detect::detect(&parsed)
        {
            for (part, kind) in [
                (a.user, Replacement::Mailbox),
                (a.session, Replacement::Name(Kind::Session)),
            ] {
                if let Some(p) = part.filter(|p| !p.is_empty()) {
                    spans.push(span(offset(p), offset(p) + p.len(), kind));
                }
            }
        }
        // What only the program's field names give away: known before the scan, or, for the
        // value that ends the message, written after the scan's spans.
        let ending = match parsed.program.and_then(Program::of) {
            Some(program) if program.may_hold_fields(parsed.message) => ProgramField::spans(
                &self.program_fields,
                program,
                parsed.message,
                offset(parsed.message),
                &mut spans,
            ),
            _ => None,
        };
        let mut direct = Direct {
            pseudonyms: &mut self.pseudonyms,
            chunk,
            base,
            out,
            at,
        };
        if spans.is_empty() {
            message.scan(&mut direct);
            if let Some(s) = ending {
                direct.span(s.start, s.end, s.kind);
            }
        } else {
            let known = spans.len();
            message.scan(&mut Collected {
                spans: &mut spans,
                known,
            });
            spans.extend(ending);
            // The scan's spans come in order, the known ones before them.
            spans.sort_by_key(|s| s.start);
            for s in &spans {
                direct.span(s.start, s.end, s.kind);
            }
        }
        let written = direct.at;
        self.spans = spans;
        written
    }
}

impl Message<'_> {
    /// Gives `sink` the spans of the message that its words' shapes and fields call for,
    /// outside those the detectors took.
    fn scan(&self, sink: &mut impl Sink) {
        let &Message {
            map,
            line,
            base,
            from,
        } = self;
        let end = base + line.len();
        let Some(first) = map.first_word(base + from, end) else {
            return;
        };
        // The first word opens the message: a queue id's place (what `word` would find
        // first for it, asked before anything else), or a word like the others, looked at
        // when the map finds it worth a look.
        let (start, i) = (first.start - base, first.end - base);
        let mut after = if let Some(id) = queue_id(line, start, i, true, false) {
            if !sink.taken(start) {
                sink.span(start, start + id, Replacement::Name(Kind::Queue));
            }
            i
        } else if map.has_candidate(first.start, first.end) {
            self.word(start, i, true, sink)
        } else {
            i
        };
        while let Some(word) = map.next_candidate(base + after, end) {
            let (start, i) = (word.start - base, word.end - base);
            after = if start == i {
                self.quote_after_angle(start, sink).unwrap_or(i)
            } else {
                self.word(start, i, false, sink)
            };
        }
    }

    /// Adds the span that the word at `start..i` of the message calls for, if any; says where
    /// the scan goes on after (a separator, or the line's end): the word's end, or that of
    /// the bracketed value it opened.
    fn word(&self, start: usize, i: usize, opening: bool, sink: &mut impl Sink) -> usize {
        let &Message {
            map,
            line,
            base,
            from,
        } = self;
        let before = &line[from..start];
        let next = line.get(i).copied();
        // Most words are plain ones in plain places: nothing to look at.
        let place = before.last().copied();
        // Fields whose value follows a space.
        // `queued as ID`, and `forwarded as ID` of a delivery to an alias.
        let queued_as = place == Some(b' ')
            && (before.ends_with(b"queued as ") || before.ends_with(b"forwarded as "));
        let username = place == Some(b' ') && before.ends_with(b"(username: ");
        let marked = map.marked(base + start, base + i);
        if !marked
            && !opening
            && next != Some(b'[')
            && !matches!(place, Some(b'<' | b'=' | b'('))
            && !queued_as
            && !username
        {
            return i;
        }
        if sink.taken(start) {
            return i;
        }
        let word = &line[start..i];
        match place {
            // A field's value: up to `>` when it opened with `<`.
            Some(b'<') => {
                if let Some(end) = self.after_angle(start, i, before, next, sink) {
                    return end;
                }
            }
            Some(b'=') if USER_FIELDS.iter().any(|f| before.ends_with(f)) => {
                sink.span(start, i, Replacement::Mailbox);
                return i;
            }
            // `imap(alice)<1><sid>`, `sql(alice,192.0.2.1)`: a process's user (not the
            // pid of `auth-worker(977):`).
            Some(b'(')
                if matches!(next, Some(b')' | b','))
                    && !word.iter().all(u8::is_ascii_digit)
                    && is_process_paren(before) =>
            {
                sink.span(start, i, Replacement::Mailbox);
                return i;
            }
            // Dovecot's `(username: admin+test)`.
            Some(b' ') if username => {
                let end = closing(line, start, i, b')');
                sink.span(start, end, Replacement::Mailbox);
                return end;
            }
            _ => {}
        }
        if let Some(id) = queue_id(line, start, i, opening, queued_as) {
            sink.span(start, start + id, Replacement::Name(Kind::Queue));
            return i;
        }
        // Only `[` after a word can make a name of a word without `.`, `:` or `@`.
        if !marked {
            if names_a_host(word, next, || word.contains(&b'/')) {
                sink.span(start, i, Replacement::Name(Kind::Host));
            }
            return i;
        }
        // Most marked words are IPv4 addresses, whole: read at once (what the shapes below
        // would find, in one pass instead of three).
        if word[0].is_ascii_digit() {
            if sink.known_v4(start, i) {
                return i;
            }
            if let Some(a) = detect::parse_ipv4(word) {
                sink.span(start, i, Replacement::V4(u32::from(a)));
                return i;
            }
        }
        let seen = word.iter().fold(0, |seen, &c| seen | CLASS[usize::from(c)]);
        if seen & (DOT | COLON) != 0
            && seen & NOT_IN_ADDRESS == 0
            && let Some(shape) = address_shape(word)
        {
            // IPv4 read here once; the others by their text when written.
            let text = &word[..shape.len];
            let kind = if shape.colons > 0 {
                Some(Replacement::Address)
            } else {
                detect::parse_ipv4(text).map(|a| Replacement::V4(u32::from(a))) // not `999.1.1.1`
            };
            if let Some(kind) = kind {
                sink.span(start, start + shape.len, kind);
            }
            return i;
        }
        if seen & AT != 0 {
            let r = unquoted(word, start);
            sink.span(r.start, r.end, Replacement::Mailbox);
            return i;
        }
        if names_a_host(word, next, || seen & SLASH != 0) {
            sink.span(start, i, Replacement::Name(Kind::Host));
            return i;
        }
        if seen & DOT != 0 && seen & SLASH == 0 {
            let r = unquoted(word, start);
            if is_host_name(&line[r.clone()]) {
                sink.span(r.start, r.end, Replacement::Name(Kind::Host));
                return i;
            }
        }
        embedded_addresses(word, |s, e, kind| sink.span(start + s, start + e, kind));
        i
    }

    /// Adds the span that the value opening at `start` after `<` calls for, the word
    /// `start..i` its first (empty when a separator opens the value), if any; says where the
    /// scan goes on after it.
    #[inline(always)]
    fn after_angle(
        &self,
        start: usize,
        i: usize,
        before: &[u8],
        next: Option<u8>,
        sink: &mut impl Sink,
    ) -> Option<usize> {
        let line = self.line;
        let kind = if MAILBOX_FIELDS.iter().any(|f| before.ends_with(f)) {
            Some(Replacement::Mailbox)
        } else if before.ends_with(b"helo=<") {
            Some(Replacement::Name(Kind::Host))
        } else {
            None
        };
        if let Some(kind) = kind {
            let end = closing(line, start, i, b'>');
            sink.span(start, end, kind);
            return Some(end);
        }
        if start < i && (before.ends_with(b"session=<") || is_process_session(before)) {
            sink.span(start, i, Replacement::Name(Kind::Session));
            return Some(i);
        }
        if next != Some(b'>') {
            return self.address_in_angles(start, i, sink);
        }
        None
    }

    /// [`Message::after_angle`] for the map's empty word, the separator after `<`: only a
    /// quote opens a value there. Not inlined: few words are empty.
    #[inline(never)]
    fn quote_after_angle(&self, start: usize, sink: &mut impl Sink) -> Option<usize> {
        if self.line.get(start) != Some(&b'"') || sink.taken(start) {
            return None;
        }
        let before = &self.line[self.from..start];
        self.after_angle(start, start, before, Some(b'"'), sink)
    }

    /// A mail address of which the word at `start..i` after `<` is only a part (`<"bad
    /// user"@example.org>`, a quoted local part of RFC 5321; `<a==b@example.org>`): its span,
    /// up to `>`, and its end. Not inlined: few words come this far.
    #[inline(never)]
    fn address_in_angles(&self, start: usize, i: usize, sink: &mut impl Sink) -> Option<usize> {
        let end = closing(self.line, start, i, b'>');
        memchr::memchr(b'@', &self.line[i..end])?;
        sink.span(start, end, Replacement::Mailbox);
        Some(end)
    }
}

/// Gives `span` the addresses inside `word`, a word that is none itself, in order: dotted
/// quads between bytes that are no letter, digit or dot (`smtpd:192.0.2.1` and
/// `127.0.0.1:2525:192.0.2.1` of anvil's statistics, `https://…/query/ip/192.0.2.1` of a
/// DNSBL's reply quoted in a reject), and the longest IPv6 address that ends it after a `:` or
/// a `/` (`smtpd:2001:db8::1`). Not inlined: few words come this far.
#[inline(never)]
fn embedded_addresses(word: &[u8], mut span: impl FnMut(usize, usize, Replacement)) {
    // The shortest: `x/::1`, and a dotted quad is 7 bytes.
    if word.len() < 5 {
        return;
    }
    let end = without_closing_dots(word).len();
    // Only the last bytes can be an address: a hostile word costs no more than a short one.
    let first = end.saturating_sub(detect::LONGEST_IP_TEXT).max(1);
    let tail = (first..end).find(|&k| {
        let text = &word[k..end];
        matches!(word[k - 1], b':' | b'/')
            && text.contains(&b':')
            && text.iter().any(u8::is_ascii_hexdigit)
            && detect::parse_ip(text).is_some()
    });
    let quads_end = tail.unwrap_or(end);
    let is_word_byte = |c: &u8| c.is_ascii_alphanumeric() || *c == b'.';
    let mut at = 0;
    while at < quads_end {
        if !word[at].is_ascii_digit() || at > 0 && is_word_byte(&word[at - 1]) {
            at += 1;
            continue;
        }
        let run = word[at..quads_end]
            .iter()
            .take_while(|c| c.is_ascii_digit() || **c == b'.')
            .count();
        let quad = without_closing_dots(&word[at..at + run]);
        if !word.get(at + run).is_some_and(u8::is_ascii_alphanumeric)
            && let Some(a) = detect::parse_ipv4(quad)
        {
            span(at, at + quad.len(), Replacement::V4(u32::from(a)));
        }
        at += run;
    }
    if let Some(k) = tail {
        span(k, end, Replacement::Address);
    }
}

/// `text` without the dots that end it (a sentence's, not an address's).
fn without_closing_dots(text: &[u8]) -> &[u8] {
    &text[..text.len() - text.iter().rev().take_while(|&&c| c == b'.').count()]
}

impl Pseudonyms {
    /// `value` replaced as a `kind` (inlined: where the kind is known, nothing looks at it).
    #[inline(always)]
    fn write(&mut self, value: &[u8], kind: Replacement, out: &mut Vec<u8>) {
        match kind {
            Replacement::Address => self.write_address(value, out),
            Replacement::V4(a) => self.write_v4(value, a, out),
            Replacement::Mailbox => match memchr::memrchr(b'@', value) {
                Some(at) if at > 0 && at + 1 < value.len() && value[0] != b'"' => {
                    self.write_pseudonym(Kind::User, &value[..at], out);
                    out.push(b'@');
                    self.write_pseudonym(Kind::Host, &value[at + 1..], out);
                }
                at => self.write_other_mailbox(value, at, out),
            },
            Replacement::Name(k) => self.write_pseudonym(k, value, out),
        }
    }

    /// A user, or a mail address of another shape than `local@domain`: with a quoted local
    /// part (`"bad user"@`, RFC 5321), replaced inside its quotes; with an empty local part or
    /// domain (`<@example.org>`, `alice@`), its `@` kept; `at` is its last `@`. Not inlined:
    /// few are.
    #[inline(never)]
    fn write_other_mailbox(&mut self, value: &[u8], at: Option<usize>, out: &mut Vec<u8>) {
        let (local, domain) = match at {
            Some(at) => (&value[..at], Some(&value[at + 1..])),
            None => (value, None),
        };
        match local {
            [] => {}
            [b'"', inner @ .., b'"'] => {
                out.push(b'"');
                if !inner.is_empty() {
                    self.write_pseudonym(Kind::User, inner, out);
                }
                out.push(b'"');
            }
            _ => self.write_pseudonym(Kind::User, local, out),
        }
        if let Some(domain) = domain {
            out.push(b'@');
            if !domain.is_empty() {
                self.write_pseudonym(Kind::Host, domain, out);
            }
        }
    }

    /// The envelope's host: nearly always the same, remembered apart (compared by words,
    /// its pseudonym copied in a fixed size: no call for either on most lines).
    fn write_log_host(&mut self, host: &[u8], out: &mut Vec<u8>) {
        let last = &self.log_host;
        if host.len() != last.text.len() || !memo::same(host, &last.text) {
            let mut done = Vec::new();
            self.write_pseudonym(Kind::Host, host, &mut done);
            let len = done.len();
            done.resize(len.max(LogHost::FIXED), 0);
            self.log_host = LogHost {
                text: host.into(),
                padded: done.into(),
                len,
            };
        }
        let LogHost { padded, len, .. } = &self.log_host;
        match padded.first_chunk::<{ LogHost::FIXED }>() {
            Some(fixed) if *len <= LogHost::FIXED => extend_prefix(out, fixed, *len),
            _ => out.extend_from_slice(&padded[..*len]),
        }
    }

    /// The IPv4 address `a`, written as `text`, mapped (each mapped once, each text
    /// remembered).
    fn write_v4(&mut self, text: &[u8], a: u32, out: &mut Vec<u8>) {
        if self.v4.len() >= REMEMBERED {
            self.v4.clear();
        }
        let (done, len) = *self
            .v4
            .entry(a)
            .or_insert_with(|| dotted_quad(self.pan.v4(a.into())));
        let done = &done[..usize::from(len)];
        self.v4_texts.put(text, done);
        out.extend_from_slice(done);
    }

    /// The IPv6 or mapped address written as `text`, mapped (each text mapped once).
    fn write_address(&mut self, text: &[u8], out: &mut Vec<u8>) {
        use std::io::Write;
        if let Some(done) = self.addresses.get(text) {
            out.extend_from_slice(done);
            return;
        }
        let Some(ip) = detect::parse_ip(text) else {
            out.extend_from_slice(text);
            return;
        };
        let mut done = Vec::with_capacity(text.len() + 8);
        // `::ffff:a.b.c.d` is the IPv4 address to the tool (`parse_ip` says so): mapped as
        // the plain one is, in the mapped form.
        if text.contains(&b':') && ip.is_ipv4() {
            done.extend_from_slice(b"::ffff:");
        }
        let _ = match ip {
            IpAddr::V4(a) => write!(done, "{}", self.pan.v4(a)),
            IpAddr::V6(a) => write!(done, "{}", self.pan.v6(a)),
        };
        out.extend_from_slice(&done);
        if self.addresses.len() >= REMEMBERED {
            self.addresses.clear();
        }
        self.addresses.insert(text.into(), done.into());
    }

    /// The replacement of `value` as a `kind`, remembered: a name comes back (a queue id in
    /// each line of its message's way, a user in each attempt).
    fn write_pseudonym(&mut self, kind: Kind, value: &[u8], out: &mut Vec<u8>) {
        let place = match self.remembered[kind as usize].get(value) {
            Ok((done, len)) => {
                extend_prefix(out, done, len);
                return;
            }
            Err(place) => place,
        };
        let at = out.len();
        self.make_pseudonym(kind, value, out);
        self.remembered[kind as usize].put(place, value, &out[at..]);
    }

    fn make_pseudonym(&self, kind: Kind, value: &[u8], out: &mut Vec<u8>) {
        // Host names do not depend on case.
        let lower;
        let value = if kind == Kind::Host && value.iter().any(u8::is_ascii_uppercase) {
            lower = value.to_ascii_lowercase();
            &lower[..]
        } else {
            value
        };
        let mut pick = |prefix: &[u8], alphabet: &Alphabet, n: usize| {
            out.extend_from_slice(prefix);
            let at = out.len();
            out.resize(at + n, 0);
            self.names.fill(kind as u8, value, &mut out[at..]);
            for b in &mut out[at..] {
                *b = alphabet[usize::from(*b)];
            }
        };
        match kind {
            Kind::User => pick(b"u", &ALNUM, 10),
            Kind::Password => pick(b"p", &ALNUM, 10),
            Kind::Host => {
                pick(b"h", &ALNUM, 8);
                // The top-level domain says little and keeps the name a name.
                if let Some(dot) = memchr::memrchr(b'.', value) {
                    let tld = &value[dot + 1..];
                    if tld.len() >= 2 && tld.iter().all(u8::is_ascii_alphabetic) {
                        out.push(b'.');
                        out.extend_from_slice(tld);
                    }
                }
            }
            Kind::Session | Kind::Queue => {
                // The same length and alphabet: hexadecimal (upper case) stays so, the rest
                // takes letters and digits, and base64's `+` and `/` when it had them.
                let alphabet = if is_upper_hex(value) {
                    &UPPER_HEX
                } else if value.iter().any(|c| matches!(c, b'+' | b'/')) {
                    &BASE64
                } else {
                    &LETTERS_DIGITS
                };
                pick(b"", alphabet, value.len().max(1));
            }
        }
    }
}

/// The letter each byte value stands for in a pseudonym's alphabet.
type Alphabet = [u8; 256];

/// Byte `b` stands for letter `b * len / 256` of `letters` (each letter for 7 or 8 of the 256
/// values with 36 letters: plenty for a pseudonym), looked up, not computed, per byte.
const fn alphabet(letters: &[u8]) -> Alphabet {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = letters[(b * letters.len()) >> 8];
        b += 1;
    }
    t
}

static ALNUM: Alphabet = alphabet(b"abcdefghijklmnopqrstuvwxyz0123456789");
static UPPER_HEX: Alphabet = alphabet(b"0123456789ABCDEF");
static LETTERS_DIGITS: Alphabet =
    alphabet(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
static BASE64: Alphabet =
    alphabet(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");

/// The longest value between `<` and `>` taken whole (spaces and all); a longer one ends
/// with its first word (`word_end`), so that no line costs more than linear time.
const LONGEST_BRACKETED: usize = 1024;

/// Where the `<…>` (or `(…)`) value starting at `start` ends: at `close`.
fn closing(line: &[u8], start: usize, word_end: usize, close: u8) -> usize {
    let window = &line[start..line.len().min(start + LONGEST_BRACKETED)];
    memchr::memchr(close, window).map_or(word_end, |n| start + n)
}

/// Appends the first `len` bytes of `bytes`: all of them copied (a fixed size, no call), the
/// rest cut off.
#[inline(always)]
fn extend_prefix<const N: usize>(out: &mut Vec<u8>, bytes: &[u8; N], len: usize) {
    let at = out.len();
    out.extend_from_slice(bytes);
    out.truncate(at + len);
}

/// The dotted quad of `a` (as `Display` writes it, without its machinery: a new address in
/// each few lines) and its length.
fn dotted_quad(a: std::net::Ipv4Addr) -> ([u8; 15], u8) {
    let mut text = [0u8; 15];
    let mut len = 0;
    let mut put = |c: u8| {
        text[len] = c;
        len += 1;
    };
    for (k, octet) in a.octets().into_iter().enumerate() {
        if k > 0 {
            put(b'.');
        }
        if octet >= 100 {
            put(b'0' + octet / 100);
        }
        if octet >= 10 {
            put(b'0' + octet / 10 % 10);
        }
        put(b'0' + octet % 10);
    }
    (text, len as u8)
}

/// Whether `at` is inside one of `spans`.
fn inside(spans: &[Replace], at: usize) -> bool {
    spans.iter().any(|s| s.start <= at && at < s.end)
}

fn span(start: usize, end: usize, kind: Replacement) -> Replace {
    Replace { start, end, kind }
}

/// Whether `word`, followed by `next`, is the host of `host[addr]` (not `unknown[`, not a
/// path's `postfix/smtpd[`); `has_slash`: whether `word` holds a `/` (asked last: most words
/// are not before `[`).
fn names_a_host(word: &[u8], next: Option<u8>, has_slash: impl FnOnce() -> bool) -> bool {
    next == Some(b'[') && word != b"unknown" && !has_slash()
}

/// Where `word` (at `start`) is without the quote that opens it and the `.`, `:` and quote
/// that close it (the end of a sentence, of a field; `'alice@example.org'` of a query).
fn unquoted(word: &[u8], start: usize) -> std::ops::Range<usize> {
    let open = usize::from(word.first() == Some(&b'\''));
    let close = word[open..]
        .iter()
        .rev()
        .take_while(|&&c| matches!(c, b'.' | b':' | b'\''))
        .count();
    start + open..start + word.len() - close
}

/// The address a word of digits, hexadecimal digits, `.` and `:` starts with, by its shape
/// alone (three dots and digits, or two colons or more): the whole word, or the word without
/// a port (`192.0.2.1:25`) or a closing `.` or `:`. The text is parsed when it is replaced: a
/// shape that is no address (`999.1.1.1`) is then written as it was.
#[derive(Clone, Copy)]
struct AddressShape {
    len: usize,
    dots: usize,
    colons: usize,
    /// `a` to `f`.
    letters: bool,
}

impl AddressShape {
    fn is_address(&self, word: &[u8]) -> bool {
        self.len <= detect::LONGEST_IP_TEXT
            && self.len > 0
            && word[self.len - 1].is_ascii_hexdigit()
            && ((self.colons == 0 && self.dots == 3 && !self.letters)
                || self.colons >= 2 && (self.dots == 0 || !dot_before_colon(&word[..self.len])))
    }
}

/// Whether a `.` comes before the last `:`: an IPv6 address has its dots (an IPv4 address's)
/// after its last colon, `127.0.0.1:2525:192.0.2.1` is none.
fn dot_before_colon(text: &[u8]) -> bool {
    memchr::memrchr(b':', text).is_some_and(|colon| text[..colon].contains(&b'.'))
}

/// One pass over `word`: the whole word, then without its closing `.` and `:`, then up to its
/// last `:`, the first that [`AddressShape::is_address`].
fn address_shape(word: &[u8]) -> Option<AddressShape> {
    let mut whole = AddressShape {
        len: word.len(),
        dots: 0,
        colons: 0,
        letters: false,
    };
    let mut before_port = None;
    for (i, &c) in word.iter().enumerate() {
        match c {
            b'.' => whole.dots += 1,
            b':' => {
                before_port = Some(AddressShape { len: i, ..whole });
                whole.colons += 1;
            }
            b'0'..=b'9' => {}
            _ => whole.letters = true,
        }
    }
    let mut trimmed = whole;
    for &c in word.iter().rev() {
        match c {
            b'.' => trimmed.dots -= 1,
            b':' => trimmed.colons -= 1,
            _ => break,
        }
        trimmed.len -= 1;
    }
    [Some(whole), Some(trimmed), before_port]
        .into_iter()
        .flatten()
        .find(|shape| shape.is_address(word))
}

/// The length of the queue id that the word at `start..end` of `line` is: `4F2A81C0D3:`
/// opening a message (the word holds its colon), or the word after `queued as `.
#[inline(always)]
fn queue_id(
    line: &[u8],
    start: usize,
    end: usize,
    opening: bool,
    queued_as: bool,
) -> Option<usize> {
    let word = &line[start..end];
    let id = match word.strip_suffix(b":") {
        Some(id) if opening => id,
        _ if queued_as => word,
        _ => return None,
    };
    // Postfix's queue ids: 6 to 12 upper-case hexadecimal digits (measured on the line from
    // the id, read 16 bytes at a time where it goes on: not copied out first), or the long
    // form (12 to 20 letters and digits with at least one digit).
    let hex = (6..=12).contains(&id.len()) && runs::len(&line[start..], Run::UpperHex) >= id.len();
    let long = || {
        (12..=20).contains(&id.len())
            && id.iter().all(u8::is_ascii_alphanumeric)
            && id.iter().any(u8::is_ascii_digit)
    };
    (hex || long()).then_some(id.len())
}

/// Whether every byte of `w` is `0`-`9` or `A`-`F`.
fn is_upper_hex(w: &[u8]) -> bool {
    runs::len(w, Run::UpperHex) == w.len()
}

/// A dotted name whose last label is a top-level domain (letters): `mail.example.org`, not
/// `TLSv1.2` or `2.0.0`.
fn is_host_name(w: &[u8]) -> bool {
    let Some(dot) = memchr::memrchr(b'.', w) else {
        return false;
    };
    let tld = &w[dot + 1..];
    dot > 0
        && tld.len() >= 2
        && tld.iter().all(u8::is_ascii_alphabetic)
        && w.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
}

/// Whether `before` ends with `name(` of a Dovecot process or passdb driver
/// (`imap(`, `lmtp(`, `passwd-file(`, `auth(`…): a word, not `(` after a space.
fn is_process_paren(before: &[u8]) -> bool {
    let name = &before[..before.len() - 1];
    let len = name
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_'))
        .count();
    len > 0
}

/// `imap(user)<pid><SESSION>` and `pam(user,ip,<SESSION>)`: whether the word after `before`
/// is such a session id.
fn is_process_session(before: &[u8]) -> bool {
    if before.ends_with(b",<") {
        return true;
    }
    // `)<digits><`
    let Some(rest) = before.strip_suffix(b"><") else {
        return false;
    };
    let digits = rest.iter().rev().take_while(|c| c.is_ascii_digit()).count();
    digits > 0 && rest[..rest.len() - digits].ends_with(b")<")
}

#[cfg(test)]
mod tests;
