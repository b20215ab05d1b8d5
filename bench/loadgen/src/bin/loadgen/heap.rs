//! The generator's live heap, counted by its allocator.
//!
//! Why: its memory per subscriber is the growth over a step's joins, and `VmRSS` cannot
//! tell it. The steps run one after another in this one process, and the allocator keeps
//! what an earlier step freed (a viewer's 320 KiB ring until run AI), so later steps reused
//! it and showed a tenth of the growth. Counting the bytes held is exact whatever the
//! allocator retains. Kernel socket buffers are left out, as they are from the server's
//! `VmRSS`.

// Implementing `GlobalAlloc` is `unsafe` by definition; each method only forwards to
// `System` with the caller's own arguments.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting the bytes it holds for the program.
pub(crate) struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);

/// Bytes allocated and not yet freed.
pub(crate) fn held() -> usize {
    HELD.load(Ordering::Relaxed)
}

// SAFETY: every call forwards the caller's layout and pointer to `System`, which upholds
// `GlobalAlloc`'s contract; the counter has no effect on the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc`, passed on.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            HELD.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc_zeroed`, passed on.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            HELD.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { System.dealloc(ptr, layout) };
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `realloc`, passed on.
        let grown = unsafe { System.realloc(ptr, layout, new_size) };
        if !grown.is_null() {
            HELD.fetch_sub(layout.size(), Ordering::Relaxed);
            HELD.fetch_add(new_size, Ordering::Relaxed);
        }
        grown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_held_moves_with_allocations_and_frees() {
        // Other tests allocate on other threads meanwhile, so only a large block is told
        // apart from their noise.
        const BLOCK: usize = 64 << 20;
        let before = held();
        let block = vec![0u8; BLOCK];
        let during = held();
        assert!(during >= before + BLOCK / 2, "{before} → {during}");
        let mut grown = block;
        grown.reserve_exact(BLOCK);
        assert!(held() >= during + BLOCK / 2, "a realloc counts its growth");
        drop(grown);
        assert!(held() + BLOCK / 2 < during, "freed bytes leave the count");
    }
}
