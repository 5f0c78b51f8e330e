//! Random ids and secrets from the operating system's generator, as lower-case hex: a
//! store's id, a new role's password.

/// `bytes` random bytes as `2 * bytes` hex digits.
pub(crate) fn hex(bytes: usize) -> Result<String, getrandom::Error> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}
