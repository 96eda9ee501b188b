//! Arbitrary bytes (and mutated real segment heads from the seed corpus) as a WAL segment:
//! the reader and every record parser must return, never panic or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

thread_local! {
    /// The reader's chunk, kept from run to run (a new one each run is most of a run's time).
    static CHUNK: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

fuzz_target!(|data: &[u8]| {
    let check_crc = data.get(3).is_some_and(|b| b & 1 == 1);
    let mut reader = tideline_wal::Reader::new(check_crc);
    for pass in 0..2 {
        // Twice: the second pass starts with whatever record the first left pending; read the
        // second time a chunk at a time, handed commits and restore points only.
        if pass == 1 {
            reader.hand_over(tideline_wal::reader::Rmgrs::of(&[0, 1]));
        }
        let mut on_record = |r: &tideline_wal::Record| {
            let _ = tideline_wal::decode::decode(r);
            let _ = tideline_wal::xact::parse(r);
            let _ = tideline_wal::xlog::restore_point(r);
            let _ = tideline_wal::xlog::timeline_switch(r);
            let _ = tideline_wal::heap::row_change(r);
            let _ = tideline_wal::storage::created(r);
            let _ = tideline_wal::storage::page_images(r);
            let _ = (r.xid(), r.prev(), r.info(), r.rmgr(), r.crc_ok(), r.is_switch());
        };
        let _ = match pass {
            0 => reader.feed_segment(data, &mut on_record),
            _ => CHUNK.with_borrow_mut(|buf| reader.feed_read(&mut &data[..], buf, &mut on_record)),
        };
    }
});
