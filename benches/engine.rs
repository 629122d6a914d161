//! Engine evaluation for a typical exec review and a typical Deployment-generated Pod review.
//! "engine": from the AdmissionRequest the server has parsed to the decision (classify, detect,
//! decide). "from bytes" adds the JSON parse, for the whole per-request CPU cost.
//! With the allocator the binary ships (mimalloc): the engine allocates per word, so glibc's
//! malloc would measure a cost `serve` does not pay.

use criterion::{criterion_group, criterion_main, Criterion};
use reconguard::admission::read_review;
use reconguard::policy::Policy;
use reconguard::subject;
use std::hint::black_box;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn engine(c: &mut Criterion) {
    let policy = Policy::embedded_default();
    for (label, file) in [
        ("exec review (ls -l /srv)", "exec-connect.json"),
        ("exec review (sh -c timeout nmap)", "exec-nmap-wrapped.json"),
        ("pod review (Deployment-generated)", "pod-create.json"),
    ] {
        let path = format!("{}/tests/corpus/{file}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(path).unwrap();
        let request = read_review(&bytes).unwrap();
        c.bench_function(&format!("engine: {label}"), |b| {
            b.iter(|| {
                let subject = subject::from_request(black_box(&request)).unwrap();
                black_box(reconguard::evaluate(&policy, &subject))
            })
        });
        c.bench_function(&format!("from bytes: {label}"), |b| {
            b.iter(|| {
                let request = read_review(black_box(&bytes)).unwrap();
                let subject = subject::from_request(&request).unwrap();
                black_box(reconguard::evaluate(&policy, &subject))
            })
        });
    }
}

criterion_group!(benches, engine);
criterion_main!(benches);
