//! A record that continues over later pages, gathered as they arrive.

use crate::reader::RECORD_HEADER_SIZE;

/// A record begun in an earlier page.
#[derive(Debug)]
pub(crate) struct Partial {
    pub start: u64,
    pub total: usize,
    pub got: usize,
    /// Its bytes so far, when they are handed over (or its header is not whole yet) …
    pub bytes: Option<Vec<u8>>,
    /// … else only its header and the CRC of its body so far.
    pub header: [u8; RECORD_HEADER_SIZE],
    pub body_crc: u32,
}

impl Partial {
    pub fn begin(start: u64, total: usize, first: &[u8], keep: bool, check_crc: bool) -> Partial {
        let mut partial = Partial { start, total, got: first.len(), bytes: None, header: [0; 24], body_crc: 0 };
        if keep || first.len() < RECORD_HEADER_SIZE {
            // Grown as pages arrive: a length read from damaged WAL must not allocate.
            let mut bytes = Vec::with_capacity(total.min(1 << 16));
            bytes.extend_from_slice(first);
            partial.bytes = Some(bytes);
        } else {
            partial.header.copy_from_slice(&first[..RECORD_HEADER_SIZE]);
            if check_crc {
                partial.body_crc = crc32c::crc32c(&first[RECORD_HEADER_SIZE..]);
            }
        }
        partial
    }

    pub fn add(&mut self, piece: &[u8], check_crc: bool) {
        self.got += piece.len();
        match &mut self.bytes {
            Some(bytes) => bytes.extend_from_slice(piece),
            None if check_crc => self.body_crc = crc32c::crc32c_append(self.body_crc, piece),
            None => {}
        }
    }

    pub fn head(&self) -> &[u8] {
        self.bytes.as_deref().unwrap_or(&self.header)
    }
}
