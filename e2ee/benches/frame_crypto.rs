//! Protect and unprotect throughput for 1 KB, 10 KB and 100 KB frames, VP8 and H.264.
//!
//! `cargo bench -p e2ee --bench frame_crypto`. Kept short (10 samples, ~2 s per case): the
//! figure that matters is MB/s against a 2 Mbit/s stream (0.25 MB/s).

use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use e2ee::{
    frame::{Codec, FrameReceiver, FrameSender},
    MediaKey,
};

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

/// Pseudo-random bytes (xorshift), so escaping and AES see realistic, incompressible data.
fn noise(len: usize, mut state: u32) -> Vec<u8> {
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

/// A frame of about `size` bytes: a VP8 delta frame, or an H.264 P frame with one slice.
fn frame(codec: Codec, size: usize) -> Vec<u8> {
    match codec {
        Codec::H264 => {
            let mut frame = vec![0, 0, 0, 1, 0x41, 0x9a];
            // Encoders never emit start-code emulations, so drop zeros from the noise.
            frame.extend(noise(size - frame.len(), 7).into_iter().map(|b| b | 0x10));
            frame
        }
        Codec::Vp8 | Codec::Opus => [vec![0x31, 0x0b, 0x00], noise(size - 3, 9)].concat(),
    }
}

fn bench(c: &mut Criterion) {
    let key = MediaKey::from_bytes(42, [0x5e; 16]);
    let mut group = c.benchmark_group("frame");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for codec in [Codec::Vp8, Codec::H264] {
        for size in SIZES {
            let plain = frame(codec, size);
            group.throughput(Throughput::Bytes(size as u64));

            let mut sender = FrameSender::new(codec, &key);
            group.bench_with_input(
                BenchmarkId::new(format!("protect/{codec}"), size),
                &plain,
                |b, plain| b.iter(|| sender.protect(black_box(plain)).expect("valid frame")),
            );

            // A fresh receiver per iteration (built outside the timing), so the replay window
            // never turns the repeated frame into a duplicate.
            let protected = sender.protect(&plain).expect("valid frame");
            group.bench_with_input(
                BenchmarkId::new(format!("unprotect/{codec}"), size),
                &protected,
                |b, protected| {
                    b.iter_batched(
                        || {
                            let mut receiver = FrameReceiver::new();
                            receiver.add_key(&key);
                            receiver
                        },
                        |mut receiver| {
                            receiver
                                .unprotect(codec, black_box(protected))
                                .expect("authentic frame")
                        },
                        criterion::BatchSize::SmallInput,
                    )
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
