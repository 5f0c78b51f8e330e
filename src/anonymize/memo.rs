//! The pseudonyms of names (users, host names, sessions, queue ids) made lately, by their
//! texts: a direct-mapped table of two cache lines a name, in a fixed memory whatever the log's
//! size. A lookup costs a hash and at most one cache miss for a name of up to 40 bytes (two for
//! a longer one); a name that does not fit a slot, or whose slot another name took since, is
//! made again (the pseudonym depends on the key and the text alone, so forgetting one changes
//! nothing but time).
//!
//! Not here: how a pseudonym is made (`anonymize`).

use std::hash::BuildHasher;

/// The longest name kept (a PTR name such as `static.203.0.113.7.clients.hoster.example`
/// comes back with each connection).
const LONGEST_TEXT: usize = 104;
/// The longest pseudonym kept (`u` and 10; `h` and 8 and a top-level domain up to 12; a
/// session or queue id of up to 22).
const LONGEST_PSEUDONYM: usize = 22;

/// Two cache lines, the lengths and the pseudonym first: a name of up to 40 bytes is found in
/// the first.
#[derive(Clone, Copy)]
#[repr(C, align(128))]
struct Slot {
    text_len: u8,
    /// 0: an empty slot (no pseudonym is empty).
    pseudonym_len: u8,
    pseudonym: [u8; LONGEST_PSEUDONYM],
    text: [u8; LONGEST_TEXT],
}

const EMPTY: Slot = Slot {
    text_len: 0,
    pseudonym_len: 0,
    pseudonym: [0; LONGEST_PSEUDONYM],
    text: [0; LONGEST_TEXT],
};

/// Where a name's pseudonym is kept (its hash), from [`Memo::get`] to [`Memo::put`].
pub struct Place(usize);

/// Names and their pseudonyms (a fast hash seeded per process: the texts are an attacker's).
pub struct Memo {
    slots: Box<[Slot]>,
    hasher: foldhash::fast::RandomState,
}

impl Memo {
    /// A table of `2^bits` slots (128 bytes each).
    pub fn new(bits: u32) -> Memo {
        Memo {
            slots: vec![EMPTY; 1 << bits].into_boxed_slice(),
            hasher: Default::default(),
        }
    }

    /// The pseudonym of `text` if remembered (the slot's bytes and how many of them are it),
    /// or else the place to remember it at ([`Memo::put`]).
    pub fn get(&self, text: &[u8]) -> Result<(&[u8; LONGEST_PSEUDONYM], usize), Place> {
        let i = self.index(text);
        let slot = &self.slots[i];
        if slot.pseudonym_len != 0
            && usize::from(slot.text_len) == text.len()
            && same(&slot.text[..text.len()], text)
        {
            return Ok((&slot.pseudonym, usize::from(slot.pseudonym_len)));
        }
        Err(Place(i))
    }

    /// Remembers `pseudonym` for `text` at the place [`Memo::get`] gave, in place of the name
    /// that had its slot (not when either is too long for a slot).
    pub fn put(&mut self, Place(i): Place, text: &[u8], pseudonym: &[u8]) {
        if text.len() > LONGEST_TEXT || pseudonym.is_empty() || pseudonym.len() > LONGEST_PSEUDONYM
        {
            return;
        }
        let slot = &mut self.slots[i];
        slot.text[..text.len()].copy_from_slice(text);
        slot.text_len = text.len() as u8;
        slot.pseudonym[..pseudonym.len()].copy_from_slice(pseudonym);
        slot.pseudonym_len = pseudonym.len() as u8;
    }

    fn index(&self, text: &[u8]) -> usize {
        self.hasher.hash_one(text) as usize & (self.slots.len() - 1)
    }
}

/// `a == b` for slices of one length up to a slot's, by overlapping words (no call into
/// `memcmp` for a few bytes).
#[inline(always)]
pub fn same(a: &[u8], b: &[u8]) -> bool {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len();
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8"));
    if n >= 8 {
        let mut at = 0;
        while at + 8 < n {
            if word(a, at) != word(b, at) {
                return false;
            }
            at += 8;
        }
        word(a, n - 8) == word(b, n - 8)
    } else if n >= 4 {
        let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().expect("4"));
        half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4)
    } else {
        a == b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found<'a>(memo: &'a Memo, text: &[u8]) -> Option<&'a [u8]> {
        memo.get(text).ok().map(|(bytes, len)| &bytes[..len])
    }

    #[test]
    fn a_name_is_found_until_another_takes_its_slot() {
        let mut memo = Memo::new(4);
        let put = |memo: &mut Memo, text: &[u8], pseudonym: &[u8]| {
            let place = memo.get(text).expect_err("not remembered yet");
            memo.put(place, text, pseudonym);
        };
        assert!(memo.get(b"alice").is_err());
        put(&mut memo, b"alice", b"u0123456789");
        assert_eq!(found(&memo, b"alice"), Some(&b"u0123456789"[..]));
        assert!(memo.get(b"alicE").is_err());
        assert!(memo.get(b"alic").is_err());
        // Names too long for a slot are never kept.
        let long = [b'a'; LONGEST_TEXT + 1];
        put(&mut memo, &long, b"u0123456789");
        assert!(memo.get(&long).is_err());
        // A name that lands on alice's slot replaces her.
        let rival = (0u32..)
            .map(|n| format!("n{n}"))
            .find(|n| memo.index(n.as_bytes()) == memo.index(b"alice"))
            .unwrap();
        put(&mut memo, rival.as_bytes(), b"u9876543210");
        assert!(memo.get(b"alice").is_err());
        assert_eq!(found(&memo, rival.as_bytes()), Some(&b"u9876543210"[..]));
    }

    #[test]
    fn same_compares_every_byte_at_every_length() {
        for n in 0..=LONGEST_TEXT {
            let a: Vec<u8> = (0..n as u8).collect();
            assert!(same(&a, &a.clone()));
            for i in 0..n {
                let mut b = a.clone();
                b[i] ^= 0x20;
                assert!(!same(&a, &b), "length {n}, byte {i}");
            }
        }
    }
}
