//! Sources that pass H.264 through untouched: `stdin`, `exec:COMMAND`, `file:PATH`.
//!
//! No re-encoding: the camera's (or ffmpeg's, or rpicam-vid's) own bitstream is split into
//! access units and handed on. Such a producer decides its own key-frame cadence; a
//! key-frame request cannot reach it (configure its GOP, e.g. ffmpeg `-g 60`).

use std::path::Path;
use std::process::Stdio;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::time::{interval, MissedTickBehavior};

use super::annexb::{split_all, AnnexBSplitter};
use super::clock::FrameClock;
use super::AccessUnit;
use crate::error::AgentError;

type FrameTx = mpsc::Sender<Result<AccessUnit, AgentError>>;

const READ_CHUNK: usize = 64 * 1024;

/// Reads Annex B from `reader` until it ends, sending each access unit as soon as the next
/// one begins. `child` (for `exec:`) is kept alive — and killed on drop — with the task.
pub fn spawn_reader<R>(reader: R, fps: u32, tx: FrameTx, child: Option<Child>)
where
    R: AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let result = pump(reader, fps, &tx).await;
        let ended = match (result, child) {
            (Err(e), _) => Err(e),
            (Ok(()), Some(mut child)) => match child.wait().await {
                Ok(status) => Err(AgentError::Source(format!("exec source exited ({status})"))),
                Err(e) => Err(AgentError::Source(format!("exec source: {e}"))),
            },
            (Ok(()), None) => Ok(()),
        };
        if let Err(e) = ended {
            // The receiver may be gone already (shutdown); nothing left to tell then.
            let _ = tx.send(Err(e)).await;
        }
    });
}

async fn pump<R: AsyncRead + Unpin>(
    mut reader: R,
    fps: u32,
    tx: &FrameTx,
) -> Result<(), AgentError> {
    let mut splitter = AnnexBSplitter::new();
    let mut clock = FrameClock::new(fps);
    let mut index = 0u64;
    let mut chunk = vec![0u8; READ_CHUNK];
    loop {
        let n = reader
            .read(&mut chunk)
            .await
            .map_err(|e| AgentError::Source(format!("reading H.264 input: {e}")))?;
        let units = if n == 0 {
            std::mem::take(&mut splitter).finish().into_iter().collect()
        } else {
            splitter.push(&chunk[..n])?
        };
        for data in units {
            let unit = AccessUnit {
                data,
                duration_ticks: clock.next_ticks(),
                index,
            };
            index += 1;
            if tx.send(Ok(unit)).await.is_err() {
                return Ok(()); // publisher gone: stop quietly
            }
        }
        if n == 0 {
            return Ok(());
        }
    }
}

/// Starts `sh -c COMMAND` and reads its stdout. Its stderr goes to ours (ffmpeg logs).
pub fn spawn_exec(command: &str, fps: u32, tx: FrameTx) -> Result<(), AgentError> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| AgentError::Source(format!("starting `{command}`: {e}")))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| AgentError::Source("child has no stdout".to_owned()))?;
    spawn_reader(stdout, fps, tx, Some(child));
    Ok(())
}

/// Loads an Annex B file and plays its access units in a loop, one per frame period.
pub fn spawn_file(path: &Path, fps: u32, tx: FrameTx) -> Result<(), AgentError> {
    let data = std::fs::read(path)
        .map_err(|e| AgentError::Source(format!("reading {}: {e}", path.display())))?;
    let units = split_all(&data)?;
    if units.is_empty() {
        return Err(AgentError::Bitstream(format!(
            "{} holds no H.264 access unit (expected Annex B with start codes)",
            path.display()
        )));
    }
    tokio::spawn(play_looped(units, fps, tx));
    Ok(())
}

async fn play_looped(units: Vec<Vec<u8>>, fps: u32, tx: FrameTx) {
    let mut clock = FrameClock::new(fps);
    let mut ticker = interval(clock.period());
    // After a stall, resume at the normal rate rather than bursting to catch up.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    for (index, data) in (0u64..).zip(units.iter().cycle()) {
        ticker.tick().await;
        let unit = AccessUnit {
            data: data.clone(),
            duration_ticks: clock.next_ticks(),
            index,
        };
        if tx.send(Ok(unit)).await.is_err() {
            return;
        }
    }
}
