//! The pass-through sources deliver exactly the access units they were given: the same
//! bytes, in order, none merged, split or re-encoded.

use std::time::Duration;

use camera_agent::source::pipe::{spawn_file, spawn_reader};
use camera_agent::source::{AccessUnit, SourceParams, SourceSpec, VideoSource};
use camera_agent::AgentError;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// A small but realistic stream: IDR with SPS/PPS and two slices, P frames, one with an AUD
/// and a 3-byte start code, one with trailing zero bytes.
fn access_units() -> Vec<Vec<u8>> {
    let sps = [0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01];
    let pps = [0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80];
    let idr_a = [0, 0, 0, 1, 0x65, 0x88, 0x84, 0x00, 0x00, 0x03, 0x00, 0x21];
    let idr_b = [0, 0, 1, 0x65, 0x41, 0x9a, 0x11, 0x22];
    let aud = [0, 0, 1, 0x09, 0xf0];
    let mut units = vec![[&sps[..], &pps, &idr_a, &idr_b].concat()];
    for i in 0..40u8 {
        let slice = [0, 0, 0, 1, 0x41, 0x9a, i, 0x55, 0x80];
        units.push(match i % 3 {
            0 => slice.to_vec(),
            1 => [&aud[..], &slice[1..]].concat(),
            _ => [&slice[..], &[0, 0]].concat(),
        });
    }
    units
}

async fn collect(
    rx: &mut mpsc::Receiver<Result<AccessUnit, AgentError>>,
    count: usize,
) -> Vec<AccessUnit> {
    let mut got = Vec::with_capacity(count);
    while got.len() < count {
        let unit = tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("a unit within the deadline")
            .expect("source still open")
            .expect("no source error");
        got.push(unit);
    }
    got
}

#[tokio::test]
async fn stdin_reader_delivers_exact_units_from_odd_chunks() {
    let units = access_units();
    // The same reader task stdin uses, fed through an in-memory pipe in uneven chunks
    // (1..=13 bytes), so start codes and NAL headers straddle reads.
    let (mut writer, reader) = tokio::io::duplex(64);
    let (tx, mut rx) = mpsc::channel(4);
    spawn_reader(reader, 30, tx, None);
    let stream = units.concat();
    tokio::spawn(async move {
        let mut rest = &stream[..];
        let mut size = 1;
        while !rest.is_empty() {
            let n = size.min(rest.len());
            writer.write_all(&rest[..n]).await.expect("write");
            rest = &rest[n..];
            size = size % 13 + 1;
        }
        // Dropping the writer is end of stream: the last unit is flushed.
    });
    let got = collect(&mut rx, units.len()).await;
    let data: Vec<Vec<u8>> = got.iter().map(|u| u.data.clone()).collect();
    assert_eq!(data, units);
    assert!(got
        .iter()
        .enumerate()
        .all(|(i, u)| u.index == i as u64 && u.duration_ticks == 3000));
    assert!(got[0].is_key_frame() && !got[1].is_key_frame());
    assert!(rx.recv().await.is_none(), "source ends after end of stream");
}

#[tokio::test]
async fn exec_source_delivers_exact_units_and_reports_exit() {
    let units = access_units();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("clip.h264");
    std::fs::write(&path, units.concat()).expect("write clip");
    let spec: SourceSpec = format!("exec:cat {}", path.display())
        .parse()
        .expect("spec");
    let mut source = VideoSource::start(&spec, SourceParams::default()).expect("start");
    for want in &units {
        let unit = tokio::time::timeout(Duration::from_secs(20), source.next())
            .await
            .expect("deadline")
            .expect("open")
            .expect("unit");
        assert_eq!(&unit.data, want);
    }
    let end = source.next().await.expect("exit is reported");
    assert!(matches!(end, Err(AgentError::Source(msg)) if msg.contains("exited")));
}

#[tokio::test(start_paused = true)]
async fn file_source_loops_exact_units_at_the_frame_rate() {
    let units = access_units();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("clip.h264");
    std::fs::write(&path, units.concat()).expect("write clip");
    let (tx, mut rx) = mpsc::channel(4);
    spawn_file(&path, 25, tx).expect("start");
    let start = tokio::time::Instant::now();
    let got = collect(&mut rx, units.len() * 2 + 1).await;
    for (i, unit) in got.iter().enumerate() {
        assert_eq!(unit.data, units[i % units.len()], "unit {i}");
        assert_eq!(unit.index, i as u64);
        assert_eq!(unit.duration_ticks, 3600);
    }
    // Paced: the virtual clock advanced one period per unit after the first.
    let elapsed = start.elapsed();
    assert_eq!(elapsed, Duration::from_millis(40) * (got.len() as u32 - 1));
}

#[test]
fn source_specs_parse() {
    assert_eq!(
        "testsrc".parse::<SourceSpec>().expect("testsrc"),
        SourceSpec::TestSrc
    );
    assert_eq!(
        "stdin".parse::<SourceSpec>().expect("stdin"),
        SourceSpec::Stdin
    );
    assert_eq!(
        "exec:ffmpeg -i x".parse::<SourceSpec>().expect("exec"),
        SourceSpec::Exec("ffmpeg -i x".to_owned())
    );
    assert_eq!(
        "file:/tmp/a.h264".parse::<SourceSpec>().expect("file"),
        SourceSpec::File("/tmp/a.h264".into())
    );
    assert!(matches!(
        "v4l3:/dev/video0".parse::<SourceSpec>(),
        Err(AgentError::UnknownSource(_))
    ));
    assert!("exec:".parse::<SourceSpec>().is_err());
}
