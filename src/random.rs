//! Random ids and secrets from the operating system's generator, as lower-case hex: a
//! store's id, a new role's password; and the tests' deterministic inputs.

/// `bytes` random bytes as `2 * bytes` hex digits.
pub(crate) fn hex(bytes: usize) -> Result<String, getrandom::Error> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// The tests' random inputs, from a seed (xorshift64: a failure replays): each call a number
/// below its argument.
#[cfg(test)]
pub(crate) fn seeded(mut state: u64) -> impl FnMut(usize) -> usize {
    move |n| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    }
}
