//! Arbitrary bytes (and mutated real segment heads from the seed corpus) as a WAL segment:
//! the reader and every record parser must return, never panic or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let check_crc = data.get(3).is_some_and(|b| b & 1 == 1);
    let mut reader = tideline_wal::Reader::new(check_crc);
    for _ in 0..2 {
        // Twice: the second pass starts with whatever record the first left pending.
        let _ = reader.feed_segment(data, &mut |r| {
            let _ = tideline_wal::decode::decode(r);
            let _ = tideline_wal::xact::parse(r);
            let _ = tideline_wal::xlog::restore_point(r);
            let _ = tideline_wal::xlog::timeline_switch(r);
            let _ = tideline_wal::heap::row_change(r);
            let _ = tideline_wal::storage::created(r);
            let _ = tideline_wal::storage::page_images(r);
            let _ = (r.xid(), r.prev(), r.info(), r.rmgr(), r.crc_ok(), r.is_switch());
        });
    }
});
