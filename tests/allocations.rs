//! The cached ASCII path allocates nothing: a counting global allocator
//! watches one thread while a warm `Checker` answers.
#![allow(unsafe_code)] // a GlobalAlloc impl is unsafe by definition

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use envelope_check::CheckOptions;
use envelope_check::{Checker, InMemoryResolver, Policy};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Polls once: a cache hit never waits.
fn now<F: Future>(fut: F) -> F::Output {
    match pin!(fut)
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("a cache hit must not wait"),
    }
}

fn allocations_during(f: impl FnOnce()) -> u64 {
    ALLOCATIONS.with(|a| a.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn a_cached_ascii_check_allocates_nothing() {
    let zone = include_str!("data/zone.txt");
    let checker = Checker::new(
        InMemoryResolver::from_zone_text(zone).unwrap(),
        Policy::default(),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let inputs = [
        "<user@northwind-traders.com>",
        "<alice@northwind-traders.com> NOTIFY=NEVER",
        "<user@webshop-a-only.de>",
        "<@a.example,@b.example:user@northwind-traders.com>",
    ];
    for input in inputs {
        assert!(
            rt.block_on(checker.rcpt_to(input, CheckOptions::default()))
                .is_accept()
        );
    }
    let mut line = String::with_capacity(64);
    for input in inputs {
        let n = allocations_during(|| {
            for _ in 0..100 {
                let v = now(checker.rcpt_to(input, CheckOptions::default()));
                line.clear();
                std::fmt::write(&mut line, format_args!("{v}")).unwrap();
            }
        });
        assert_eq!(n, 0, "{input}: {n} allocations in 100 cached checks");
        assert_eq!(line, "250 2.1.5 Ok");
    }
    // The counter works: an uppercase domain must be lowercased somewhere.
    let n = allocations_during(|| {
        now(checker.rcpt_to("<USER@NORTHWIND-TRADERS.COM>", CheckOptions::default()));
    });
    assert!(n > 0, "the counting allocator sees allocations");
}
