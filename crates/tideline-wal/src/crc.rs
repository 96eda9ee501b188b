//! Record CRCs, several at a time. A record's CRC-32C covers its body, then its header up to
//! the CRC field. The crc32c crate computes one buffer at a time; on the short records of a
//! bulk load that is one chain of dependent `crc32` instructions per record, each waiting
//! three cycles for the last. Here four records' chains run in step (alternate records, which
//! are alike in a bulk load), and where each record ends is chosen without a branch; the crate
//! stays the reference, the way for long tails, and the path on CPUs without SSE 4.2.

use crate::reader::RECORD_HEADER_SIZE;

/// Whether a record's stored CRC matches, one record at a time.
pub fn record_ok(record: &[u8]) -> bool {
    record.len() >= RECORD_HEADER_SIZE && header_ok(crc32c::crc32c(&record[RECORD_HEADER_SIZE..]), record)
}

/// Whether the CRC of a record's body (however it was gathered) and of its header up to the
/// CRC field matches the one the header stores. `head` is at least the record's header.
pub(crate) fn header_ok(body_crc: u32, head: &[u8]) -> bool {
    crc32c::crc32c_append(body_crc, &head[..20]) == stored(head)
}

fn stored(record: &[u8]) -> u32 {
    u32::from_le_bytes(record[20..24].try_into().expect("a record has a header"))
}

/// The index of the first record whose CRC does not match, if any. A record shorter than its
/// header is bad (and never reaches the unchecked reads below, which rely on the header).
pub fn first_bad(records: &[&[u8]]) -> Option<usize> {
    let whole = records.iter().position(|r| r.len() < RECORD_HEADER_SIZE).unwrap_or(records.len());
    first_bad_of_whole(&records[..whole]).or((whole < records.len()).then_some(whole))
}

/// [`first_bad`] for records that are each at least `RECORD_HEADER_SIZE` bytes.
fn first_bad_of_whole(records: &[&[u8]]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("sse4.2") {
        // Eight at a time, as two fours of alternate records: a bulk load alternates heap
        // records with shorter index records, and four chains run in step only as long as the
        // shortest of them; alternate records are alike.
        let mut eights = records.chunks_exact(8);
        for (e, r) in eights.by_ref().enumerate() {
            // SAFETY: SSE 4.2 is present (checked above).
            let (even, odd) = unsafe { (crc4_any([r[0], r[2], r[4], r[6]]), crc4_any([r[1], r[3], r[5], r[7]])) };
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
            let crcs = unsafe { crc4_any([four[0], four[1], four[2], four[3]]) };
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
            let crcs = unsafe { crc4_any([lane(0), lane(1), lane(2), lane(3)]) };
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
    use std::arch::x86_64::{_mm_crc32_u64, _mm_crc32_u8};
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
    std::array::from_fn(|i| with_header(crc[i], records[i]))
}

/// A record's CRC from that of its body: the header up to the CRC field goes in last.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
fn with_header(body_crc: u64, record: &[u8]) -> u32 {
    use std::arch::x86_64::{_mm_crc32_u32, _mm_crc32_u64};
    let h = &record[..20];
    let c = _mm_crc32_u64(body_crc, u64::from_le_bytes(h[..8].try_into().expect("8 bytes")));
    let c = _mm_crc32_u64(c, u64::from_le_bytes(h[8..16].try_into().expect("8 bytes")));
    !_mm_crc32_u32(c as u32, u32::from_le_bytes(h[16..20].try_into().expect("4 bytes")))
}

/// Lanes whose bodies differ by more words than this take `crc4`'s way (a page image beside
/// short records would keep the others waiting).
#[cfg(target_arch = "x86_64")]
const ALIKE_WORDS: usize = 32;

/// `v` where `take`, else `keep`, without a branch.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn select(take: bool, v: u64, keep: u64) -> u64 {
    let m = u64::from(take).wrapping_neg();
    (v & m) | (keep & !m)
}

/// Four records of about the same length (alternate records of a bulk load): every chain runs
/// in step to the longest body, a lane whose body has ended keeping its CRC, and each body's
/// last 0–7 bytes go in as at most a 4-, a 2- and a 1-byte step, all chosen without a branch.
/// Records of random lengths would otherwise mispredict where each one ends, about once per
/// record, and a misprediction costs more than the steps it skips.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
unsafe fn crc4_alike(records: [&[u8]; 4]) -> [u32; 4] {
    use std::arch::x86_64::{_mm_crc32_u16, _mm_crc32_u32, _mm_crc32_u64, _mm_crc32_u8};
    let len = records.map(|r| r.len() - RECORD_HEADER_SIZE);
    let words = len.map(|l| l / 8);
    let longest = words[0].max(words[1]).max(words[2]).max(words[3]);
    let body = records.map(|r| r[RECORD_HEADER_SIZE..].as_ptr());
    let shortest = words[0].min(words[1]).min(words[2]).min(words[3]);
    let mut crc = [u64::from(u32::MAX); 4];
    for w in 0..shortest {
        for k in 0..4 {
            // SAFETY: w * 8 + 8 <= len for every body.
            crc[k] = _mm_crc32_u64(crc[k], unsafe { (body[k].add(w * 8) as *const u64).read_unaligned() });
        }
    }
    for w in shortest..longest {
        for k in 0..4 {
            let going = w < words[k];
            // SAFETY: inside the body while it goes on; after it, 8 bytes of its own header.
            let word = unsafe {
                let at = if going { body[k].add(w * 8) } else { body[k].sub(8) };
                (at as *const u64).read_unaligned()
            };
            crc[k] = select(going, _mm_crc32_u64(crc[k], word), crc[k]);
        }
    }
    let mut out = [0u32; 4];
    for k in 0..4 {
        let rest = len[k] % 8;
        // The body's last 8 bytes (reaching back into the header for a short body), shifted
        // down to the `rest` bytes still to go in.
        // SAFETY: body - 24 is the record's start, so body + len - 8 is inside the record.
        let last = unsafe { (body[k].add(len[k]).sub(8) as *const u64).read_unaligned() };
        let mut tail = (last >> (63 - 8 * rest as u32)) >> 1;
        let mut c = crc[k];
        let four = rest & 4 != 0;
        c = select(four, u64::from(_mm_crc32_u32(c as u32, tail as u32)), c);
        tail = select(four, tail >> 32, tail);
        let two = rest & 2 != 0;
        c = select(two, u64::from(_mm_crc32_u16(c as u32, tail as u16)), c);
        tail = select(two, tail >> 16, tail);
        c = select(rest & 1 != 0, u64::from(_mm_crc32_u8(c as u32, tail as u8)), c);
        out[k] = with_header(c, records[k]);
    }
    out
}

/// `crc4_alike` for lanes of about the same length, else `crc4`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
unsafe fn crc4_any(records: [&[u8]; 4]) -> [u32; 4] {
    let words = records.map(|r| (r.len() - RECORD_HEADER_SIZE) / 8);
    let spread =
        words[0].max(words[1]).max(words[2]).max(words[3]) - words[0].min(words[1]).min(words[2]).min(words[3]);
    // SAFETY: SSE 4.2, as this function's caller checked.
    unsafe {
        if spread <= ALIKE_WORDS {
            crc4_alike(records)
        } else {
            crc4(records)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_shorter_than_its_header_is_bad_not_read_past() {
        let good = records(9, 7);
        let mut all: Vec<&[u8]> = good.iter().map(|r| r.as_slice()).collect();
        assert_eq!(first_bad(&all), None);
        all.insert(5, &[0u8; 3]);
        assert_eq!(first_bad(&all), Some(5));
        assert_eq!(first_bad(&[&[][..]]), Some(0));
        assert!(!record_ok(&[1, 2, 3]));
    }

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
