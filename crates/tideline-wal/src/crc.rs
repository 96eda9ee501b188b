//! Record CRCs, several at a time. A record's CRC-32C covers its body, then its header up to
//! the CRC field. The crc32c crate computes one buffer at a time; on the ~70-byte records of
//! a bulk load that is one chain of dependent `crc32` instructions per record, each waiting
//! three cycles for the last. Interleaving four records' chains keeps the unit busy every
//! cycle; the crate stays the reference (and the path on CPUs without SSE 4.2).

use crate::reader::RECORD_HEADER_SIZE;

/// Whether a record's stored CRC matches, one record at a time.
pub fn record_ok(record: &[u8]) -> bool {
    let body = crc32c::crc32c(&record[RECORD_HEADER_SIZE..]);
    crc32c::crc32c_append(body, &record[..20]) == stored(record)
}

fn stored(record: &[u8]) -> u32 {
    u32::from_le_bytes(record[20..24].try_into().expect("a record has a header"))
}

/// The index of the first record whose CRC does not match, if any. Every record is at least
/// `RECORD_HEADER_SIZE` bytes.
pub fn first_bad(records: &[&[u8]]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("sse4.2") {
        // Eight at a time, as two fours of alternate records: a bulk load alternates heap
        // records with shorter index records, and four chains run in step only as long as the
        // shortest of them; alternate records are alike.
        let mut eights = records.chunks_exact(8);
        for (e, r) in eights.by_ref().enumerate() {
            // SAFETY: SSE 4.2 is present (checked above).
            let (even, odd) = unsafe { (crc4([r[0], r[2], r[4], r[6]]), crc4([r[1], r[3], r[5], r[7]])) };
            let mut bad = 0u32;
            for k in 0..4 {
                bad |= (even[k] ^ stored(r[2 * k])) | (odd[k] ^ stored(r[2 * k + 1]));
            }
            if bad != 0 {
                let crcs = [even[0], odd[0], even[1], odd[1], even[2], odd[2], even[3], odd[3]];
                return (0..8).find(|&i| crcs[i] != stored(r[i])).map(|i| e * 8 + i);
            }
        }
        let done = records.len() - eights.remainder().len();
        let mut quads = eights.remainder().chunks_exact(4);
        if let Some(four) = quads.next() {
            // SAFETY: as above.
            let crcs = unsafe { crc4([four[0], four[1], four[2], four[3]]) };
            if let Some(i) = (0..4).find(|&i| crcs[i] != stored(four[i])) {
                return Some(done + i);
            }
        }
        let done = records.len() - quads.remainder().len();
        let rest = quads.remainder();
        if !rest.is_empty() {
            // One to three left: four chains still, the last record repeated to fill them.
            let lane = |k: usize| rest[k.min(rest.len() - 1)];
            // SAFETY: as above.
            let crcs = unsafe { crc4([lane(0), lane(1), lane(2), lane(3)]) };
            return (0..rest.len()).find(|&i| crcs[i] != stored(rest[i])).map(|i| done + i);
        }
        return None;
    }
    records.iter().position(|r| !record_ok(r))
}

/// Past this many bytes a tail goes to the crate, whose three chains beat one on long input.
#[cfg(target_arch = "x86_64")]
const LONG_TAIL: usize = 256;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
unsafe fn crc4(records: [&[u8]; 4]) -> [u32; 4] {
    use std::arch::x86_64::{_mm_crc32_u32, _mm_crc32_u64, _mm_crc32_u8};
    let mut crc = [u64::from(u32::MAX); 4];
    // The bodies: in step while every one has words left, then each one's tail on its own.
    let body = records.map(|r| (r[RECORD_HEADER_SIZE..].as_ptr(), r.len() - RECORD_HEADER_SIZE));
    let together = body[0].1.min(body[1].1).min(body[2].1).min(body[3].1) / 8;
    for w in 0..together {
        // SAFETY: w * 8 + 8 <= len for every body.
        unsafe {
            crc[0] = _mm_crc32_u64(crc[0], (body[0].0.add(w * 8) as *const u64).read_unaligned());
            crc[1] = _mm_crc32_u64(crc[1], (body[1].0.add(w * 8) as *const u64).read_unaligned());
            crc[2] = _mm_crc32_u64(crc[2], (body[2].0.add(w * 8) as *const u64).read_unaligned());
            crc[3] = _mm_crc32_u64(crc[3], (body[3].0.add(w * 8) as *const u64).read_unaligned());
        }
    }
    for (c, (ptr, len)) in crc.iter_mut().zip(body) {
        // SAFETY: ptr..ptr + len is the body.
        let mut rest = unsafe { std::slice::from_raw_parts(ptr.add(together * 8), len - together * 8) };
        if rest.len() > LONG_TAIL {
            // A long record beside short ones (a full-page image): the crate's own three-way
            // interleaving is faster on it than one chain.
            *c = u64::from(!crc32c::crc32c_append(!(*c as u32), rest));
            continue;
        }
        while rest.len() >= 8 {
            *c = _mm_crc32_u64(*c, u64::from_le_bytes(rest[..8].try_into().expect("8 bytes")));
            rest = &rest[8..];
        }
        for &byte in rest {
            *c = u64::from(_mm_crc32_u8(*c as u32, byte));
        }
    }
    // The headers up to the CRC field: 20 bytes each, in step throughout.
    let mut out = [0u32; 4];
    for (i, r) in records.iter().enumerate() {
        let h = &r[..20];
        let c = _mm_crc32_u64(crc[i], u64::from_le_bytes(h[..8].try_into().expect("8 bytes")));
        let c = _mm_crc32_u64(c, u64::from_le_bytes(h[8..16].try_into().expect("8 bytes")));
        out[i] = !_mm_crc32_u32(c as u32, u32::from_le_bytes(h[16..20].try_into().expect("4 bytes")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records of varied lengths with valid CRCs (a small xorshift: no test dependency).
    fn records(n: usize, seed: u64) -> Vec<Vec<u8>> {
        let mut x = seed;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        (0..n)
            .map(|_| {
                // Short ones mostly, and some page-image sized (long tails take another path).
                let len = RECORD_HEADER_SIZE + (next() % if next() % 5 == 0 { 9000 } else { 300 }) as usize;
                let mut r: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                let crc = crc32c::crc32c_append(crc32c::crc32c(&r[RECORD_HEADER_SIZE..]), &r[..20]);
                r[20..24].copy_from_slice(&crc.to_le_bytes());
                r
            })
            .collect()
    }

    #[test]
    fn agrees_with_the_crate_and_finds_the_first_damaged_record() {
        for seed in 1..50 {
            let mut all = records(23, seed);
            let refs: Vec<&[u8]> = all.iter().map(Vec::as_slice).collect();
            assert_eq!(first_bad(&refs), None);
            for damaged in [0, 3, 4, 6, 9, 17, 22] {
                let at = (seed as usize * 7) % all[damaged].len();
                all[damaged][at] ^= 0x10;
                let refs: Vec<&[u8]> = all.iter().map(Vec::as_slice).collect();
                assert_eq!(first_bad(&refs), Some(damaged), "seed {seed}, byte {at}");
                all[damaged][at] ^= 0x10;
            }
        }
    }
}
