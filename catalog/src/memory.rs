//! Giving freed memory back to the system. glibc's malloc keeps what a
//! burst freed in its arenas: a thousand abandoned sessions left the server
//! ~75 MiB resident for good, and the operator's first lists and waves of
//! reconciles did the same. Trimming after such bursts returns it. Other
//! allocators (musl's) return memory on their own.

/// Returns the free pages of every malloc arena to the system.
pub fn release_free() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only walks the allocator's own free lists.
        let released = unsafe { libc::malloc_trim(0) };
        tracing::debug!(released = released == 1, "malloc_trim");
    }
}
