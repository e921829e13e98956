//! What the config-port test files share.

/// Runs a test on a thread with a big stack: unoptimised async code keeps every
/// request and response (up to ~8 KiB each) of a long test body on the stack, more than
/// the 2 MiB of a test thread. Optimised builds need a fraction of it.
pub fn run(test: impl std::future::Future<Output = ()> + Send + 'static) {
    const TEST_STACK: usize = 32 << 20;
    std::thread::Builder::new()
        .stack_size(TEST_STACK)
        .spawn(move || {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_stack_size(TEST_STACK)
                .enable_all()
                .build()
                .unwrap()
                .block_on(test)
        })
        .unwrap()
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
}
