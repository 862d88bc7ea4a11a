//! The process's memory allocator: mimalloc, set here once for every binary,
//! test and bench that links the library, and its one setting
//! ([`configure`], called by `cli::exit::run` before a binary's body).
//! Owns no data and decides nothing about results: an allocator cannot
//! change a byte of any output.
//!
//! Why not glibc's malloc: a score run of 1M accounts / 100M events frees
//! and reallocates gigabytes of column slices, rows and hash tables. glibc
//! serves large blocks with `mmap` and hands them back with `munmap`, so
//! each reuse faults in fresh, zeroed pages again: about 1.3M page faults
//! and 5-10 s of kernel time per run on a 2-core VM. mimalloc keeps freed
//! memory in its own arenas and reuses it, so the same run takes half the
//! faults and under half the kernel time. It is built with `no_thp` (no
//! `madvise(MADV_HUGEPAGE)` on its arenas): huge pages cut the faults to
//! about 10k, but on a busy VM each one may stall in compaction, and the
//! kernel time swung from 3 to 8 s where 4 KiB pages stay at 2.3-2.8 s.
//! jemalloc was measured too: as fast only when it never returns
//! memory, and then over 2.7 GB peak RSS, and its C build (configure and
//! make) adds minutes to a clean CI build where mimalloc's single C file
//! takes seconds. Figures in the README's Speed section.

use mimalloc::MiMalloc;

#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

/// mimalloc's `mi_option_purge_delay` (index 15 of `mi_option_e` in the
/// bundled mimalloc.h; libmimalloc-sys exports no constant for it). The
/// unit test below checks by name that this index is the purge delay.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Tells mimalloc never to return freed memory to the OS during a run
/// (purge delay -1; its default purges after 1 s). Our binaries are batch
/// jobs that free and refill the same gigabytes step after step: with
/// purging, every refill faults the pages in again (score 1M: 200k faults
/// and about 4 s more kernel time); without it the process's peak stays
/// what its largest step needs (2.4 GB for score 1M, under the 3 GB target).
/// An explicit `MIMALLOC_PURGE_DELAY` in the environment still wins, so an
/// operator can trade speed back for memory without a rebuild.
pub fn configure() {
    // SAFETY: `mi_option_set_default` writes one slot of mimalloc's static
    // option table; any value is valid for the purge delay, it is read at
    // each purge decision, and it leaves an option set from the
    // environment untouched. Called before a binary starts its threads.
    unsafe { libmimalloc_sys::mi_option_set_default(MI_OPTION_PURGE_DELAY, -1) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::{c_char, c_void, CStr};

    extern "C" {
        // Exported by the bundled mimalloc (mimalloc.h), not declared by
        // libmimalloc-sys: prints every option as `option 'NAME': VALUE`.
        fn mi_options_print_out(out: libmimalloc_sys::mi_output_fun, arg: *mut c_void);
    }

    unsafe extern "C" fn collect(msg: *const c_char, arg: *mut c_void) {
        let text = &mut *(arg as *mut String);
        text.push_str(&CStr::from_ptr(msg).to_string_lossy());
    }

    fn options_text() -> String {
        let mut text = String::new();
        // SAFETY: `collect` only appends to the String behind `arg`, which
        // outlives the call; mimalloc calls it synchronously.
        unsafe { mi_options_print_out(Some(collect), &mut text as *mut String as *mut c_void) };
        text
    }

    #[test]
    fn configure_turns_off_purging_by_name() {
        configure();
        let text = options_text();
        assert!(
            text.lines()
                .any(|l| l.trim_end() == "option 'purge_delay': -1"),
            "purge_delay not -1 after configure:\n{text}"
        );
    }

    #[test]
    fn rust_allocations_come_from_mimalloc() {
        let block = vec![7u8; 1 << 20];
        // SAFETY: `mi_is_in_heap_region` only compares the address with
        // mimalloc's own arenas.
        let ours = unsafe { libmimalloc_sys::mi_is_in_heap_region(block.as_ptr().cast()) };
        assert!(ours, "a Vec's buffer is not in mimalloc's heap");
    }
}
