//! Log sequence numbers, written `X/Y` as PostgreSQL prints them.

/// An LSN written `X/Y` as a number.
pub fn lsn(text: &str) -> Option<u64> {
    let (hi, lo) = text.split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

/// A number written as PostgreSQL prints an LSN.
pub fn lsn_text(v: u64) -> String {
    format!("{:X}/{:X}", v >> 32, v & 0xFFFF_FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ways() {
        assert_eq!(lsn("1/A0000028"), Some(0x1_A000_0028));
        assert_eq!(lsn_text(0x1_A000_0028), "1/A0000028");
        assert_eq!(lsn("nonsense"), None);
    }
}
