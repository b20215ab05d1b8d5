//! Hostile bytes on the camera's `stdin` source (the `exec:` and `file:` sources share the
//! same reader, `camera_agent::source::pipe::spawn_reader`).
//!
//! Documented responses (camera-agent/src/source/annexb.rs):
//! * bytes without a slice (garbage, a lone start code) yield no access unit: a silent drop;
//! * complete units before, and between, hostile bytes come out byte-exact;
//! * EOF in the middle of a unit passes the partial unit on if it holds a slice, as the
//!   producer wrote it (the decoder sees a truncated picture), and then the source ends;
//! * a unit that never ends (a 100 MB NAL unit without start codes) is the clear error
//!   `AgentError::Bitstream` once it passes `MAX_ACCESS_UNIT`, and reading stops there, so
//!   memory stays bounded whatever the producer keeps writing.

use std::time::Duration;

use camera_agent::source::annexb::MAX_ACCESS_UNIT;
use camera_agent::source::pipe::spawn_reader;
use camera_agent::source::AccessUnit;
use camera_agent::AgentError;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

const DEADLINE: Duration = Duration::from_secs(60);

const SPS: &[u8] = &[0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xda];
const PPS: &[u8] = &[0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80];

/// An IDR (with parameter sets) or a P access unit with a recognisable body.
fn unit(idr: bool, seed: u8) -> Vec<u8> {
    let mut out = Vec::new();
    if idr {
        out.extend_from_slice(SPS);
        out.extend_from_slice(PPS);
    }
    out.extend_from_slice(&[0, 0, 0, 1, if idr { 0x65 } else { 0x41 }, 0x88]);
    // No zero bytes in the body, so no start code can appear inside it.
    out.extend((0..200u8).map(|i| i.wrapping_mul(7).wrapping_add(seed) | 0x10));
    out
}

/// Everything the source sends until it ends (or the deadline, which fails the test).
async fn drain(
    mut rx: mpsc::Receiver<Result<AccessUnit, AgentError>>,
) -> (Vec<Vec<u8>>, Option<AgentError>) {
    let mut units = Vec::new();
    loop {
        let next = tokio::time::timeout(DEADLINE, rx.recv())
            .await
            .expect("the source ends within the deadline");
        match next {
            Some(Ok(unit)) => units.push(unit.data),
            Some(Err(err)) => return (units, Some(err)),
            None => return (units, None),
        }
    }
}

/// Feeds `chunks` to a fresh stdin-style reader, then EOF.
async fn feed(chunks: Vec<Vec<u8>>) -> (Vec<Vec<u8>>, Option<AgentError>) {
    let (mut writer, reader) = tokio::io::duplex(64 * 1024);
    let (tx, rx) = mpsc::channel(8);
    spawn_reader(reader, 30, tx, None);
    let collector = tokio::spawn(drain(rx));
    for chunk in chunks {
        writer.write_all(&chunk).await.expect("reader is alive");
    }
    drop(writer);
    collector.await.expect("collector")
}

/// A deterministic generator (xorshift64) for garbage.
fn garbage(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[tokio::test]
async fn garbage_without_slices_yields_no_unit_and_a_clean_end() {
    // Random bytes hold a stray `00 00 01` now and then; with every byte that could be a
    // slice's NAL header (types 1 and 5) rewritten, none starts a slice, so nothing is due.
    let mut noise: Vec<u8> = garbage(7, 1 << 20);
    for byte in noise.iter_mut() {
        if *byte & 0x1f == 1 || *byte & 0x1f == 5 {
            *byte ^= 0x02;
        }
    }
    let (units, err) = feed(noise.chunks(4096).map(<[u8]>::to_vec).collect()).await;
    assert!(units.is_empty(), "{} units from garbage", units.len());
    assert!(err.is_none(), "{err:?}");
}

#[tokio::test]
async fn complete_units_pass_byte_exact_around_hostile_bytes_and_eof_mid_unit() {
    let good: Vec<Vec<u8>> = (0..6u8).map(|i| unit(i % 3 == 0, i)).collect();
    // A stray start code with a non-slice NAL and garbage after the last unit, then a P
    // unit cut off mid-slice by EOF; chunked at odd sizes so boundaries fall anywhere.
    let truncated: Vec<u8> = unit(false, 99)[..40].to_vec();
    let mut stream = good.concat();
    stream.extend_from_slice(&truncated);
    let chunks: Vec<Vec<u8>> = stream.chunks(37).map(<[u8]>::to_vec).collect();
    let (units, err) = feed(chunks).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(units.len(), good.len() + 1);
    assert_eq!(&units[..good.len()], &good[..], "complete units byte-exact");
    assert_eq!(units[good.len()], truncated, "the partial unit as written");

    // EOF inside the parameter sets (no slice yet): the fragment is dropped.
    let (units, err) = feed(vec![good[0].clone(), SPS.to_vec(), PPS[..5].to_vec()]).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(units, vec![good[0].clone()]);
}

#[tokio::test]
async fn a_100_mb_nal_without_start_codes_is_a_bitstream_error_with_bounded_reading() {
    let (mut writer, reader) = tokio::io::duplex(64 * 1024);
    let (tx, rx) = mpsc::channel(8);
    spawn_reader(reader, 30, tx, None);
    let collector = tokio::spawn(drain(rx));

    // One good unit first: it must still be delivered.
    let first = unit(true, 1);
    writer.write_all(&first).await.expect("write");
    writer
        .write_all(&[0, 0, 0, 1, 0x41, 0x9a])
        .await
        .expect("write");
    let chunk = vec![0x55u8; 1 << 20];
    let mut written = 0usize;
    for _ in 0..100 {
        if writer.write_all(&chunk).await.is_err() {
            break; // the reader gave up and dropped its end
        }
        written += chunk.len();
    }
    let (units, err) = collector.await.expect("collector");
    assert_eq!(units, vec![first]);
    match err {
        Some(AgentError::Bitstream(message)) => {
            assert!(message.contains("Annex B"), "{message}");
        }
        other => panic!("expected a bitstream error, got {other:?}"),
    }
    // The reader stopped reading right after the cap: a producer that keeps writing is
    // refused instead of being buffered (cap + one read chunk + the pipe's buffer).
    assert!(
        written <= MAX_ACCESS_UNIT + 3 * (1 << 20),
        "{written} bytes accepted before the refusal"
    );
}
