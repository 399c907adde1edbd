use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `purge_delay` option: its value in mimalloc 2 and 3 alike. The bindings name
/// the options on either side of it (14 and 16) but not this one.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> ExitCode {
    // Memory that falls free goes back to the system after 10 ms instead of mimalloc's
    // default second (and mimalloc only purges when it next takes pages, which a steady
    // stream of rows seldom does): an export's card report or a report request frees tens
    // of MB that otherwise stay resident to the end. `MIMALLOC_PURGE_DELAY` in the
    // environment still decides.
    // SAFETY: the call is not thread safe, and no other thread is running yet.
    unsafe { libmimalloc_sys::mi_option_set_default(MI_OPTION_PURGE_DELAY, 10) };
    tally::cli::main()
}
