use sfu::SfuError;
use str0m::media::Direction;

use crate::common::client::Rng;
use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_hostile_offers_are_answered_with_errors() {
    let sfu = start_sfu(1).await;
    let handle = sfu.handle();
    for garbage in [
        "",
        "hello",
        "v=0\r\n",
        "v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
    ] {
        let err = handle
            .publish("cam", garbage)
            .await
            .expect_err("garbage refused");
        assert!(matches!(err, SfuError::BadSdp(_)), "{garbage:?}: {err}");
    }
    let huge = "a".repeat(70 * 1024);
    assert!(matches!(
        handle.subscribe("cam", &huge).await,
        Err(SfuError::BadSdp(_))
    ));
    // A viewer's recvonly offer used to publish, and a camera's sendonly offer used to
    // subscribe: both refused.
    let recvonly = Pending::new(TestCodec::Vp8, Direction::RecvOnly);
    assert!(matches!(
        handle.publish("cam", &recvonly.offer).await,
        Err(SfuError::Unsupported(_))
    ));
    let sendonly = Pending::new(TestCodec::Vp8, Direction::SendOnly);
    assert!(matches!(
        handle.subscribe("cam", &sendonly.offer).await,
        Err(SfuError::Unsupported(_))
    ));
    // Bad camera ids.
    for id in ["", "a\nb", &"x".repeat(200)] {
        assert!(matches!(
            handle.publish(id, &sendonly.offer).await,
            Err(SfuError::InvalidCameraId(_))
        ));
    }
    // A second publisher for the same camera.
    handle
        .publish("cam", &sendonly.offer)
        .await
        .expect("first publisher");
    let again = Pending::new(TestCodec::Vp8, Direction::SendOnly);
    assert!(matches!(
        handle.publish("cam", &again.offer).await,
        Err(SfuError::CameraAlreadyPublishing)
    ));

    // Seeded mutations of a valid offer: each is answered or refused, never a panic.
    let valid = Pending::new(TestCodec::H264, Direction::RecvOnly).offer;
    let mut rng = Rng::new(0xbad5d9);
    for round in 0..300 {
        let mut bytes = valid.clone().into_bytes();
        match round % 3 {
            0 => bytes.truncate(rng.next_u64() as usize % bytes.len()),
            1 => {
                for _ in 0..4 {
                    let i = rng.next_u64() as usize % bytes.len();
                    bytes[i] = rng.next_u64() as u8;
                }
            }
            _ => {
                let i = rng.next_u64() as usize % bytes.len();
                let junk = rng.bytes(40);
                bytes.splice(i..i, junk);
            }
        }
        let mutated = String::from_utf8_lossy(&bytes).into_owned();
        let _ = handle.subscribe(&format!("fuzz-{round}"), &mutated).await;
    }
    // Still serving.
    let ok = Pending::new(TestCodec::Vp8, Direction::RecvOnly);
    handle
        .subscribe("cam", &ok.offer)
        .await
        .expect("still answering");
    assert!(handle.metrics_text().contains("sfu_peer_panics_total 0"));
    sfu.shutdown().await;
}
