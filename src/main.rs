//! reconguard's binary: the allocator, then the command line (`reconguard::cli`).

use std::process::ExitCode;

/// mimalloc rather than glibc's allocator: a request allocates and frees many small objects on
/// two or more threads, and glibc's arenas spent about 15% of the server's time in
/// malloc/free/consolidate under load (benches/load.sh, perf).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's defaults trade memory for speed: arenas committed eagerly and freed memory kept
/// for 10 ms. With them the server sat at 60 MiB resident when idle (policy compilation's
/// transient peak, kept); with these settings at 30 MiB, for about 3% of throughput
/// (benches/load.sh). Set here, after mimalloc's first arena exists; `MIMALLOC_ARENA_EAGER_COMMIT=0`
/// in the environment also covers that one (23 MiB).
fn tune_allocator() {
    // Positions in mimalloc 2's `mi_option_e` (libmimalloc-sys 0.1 builds mimalloc 2): the crate
    // names only some of them. `MIMALLOC_*` environment variables still override.
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: setting an option is a plain store in mimalloc's option table.
    unsafe {
        libmimalloc_sys::mi_option_set_default(ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set_default(PURGE_DELAY, 0);
    }
}

fn main() -> ExitCode {
    tune_allocator();
    reconguard::cli::main()
}
