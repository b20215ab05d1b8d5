//! Hostile SDP offers, to the SFU's API directly and through signaling's `publish` and
//! `subscribe` (the embedded SFU behind them).
//!
//! Documented responses: the SFU answers an offer or refuses it with `SfuError::BadSdp`
//! (unparseable, over 64 KiB, broken) or `SfuError::Unsupported` (no video m-line in the
//! needed direction, no common video codec), and never panics (`sfu_peer_panics_total 0`).
//! Signaling turns a refusal into `error media_error` and an over-64-KiB message into
//! `error message_too_large`; neither closes the socket, so the same client can retry.
//! Others unharmed: a real camera and viewer connected before the attack keep streaming,
//! byte-exact.

mod support;

use protocol::{ClientMessage, ErrorCode, Publish, Role, ServerMessage, Subscribe};
use sfu::{SfuError, SfuHandle};
use str0m::media::{Direction, MediaKind};
use str0m::{Candidate, RtcConfig};
use support::ws::Stack;
use support::{
    distinct_received, publisher, received_in_order, stream, subscriber, wait_until, Offer,
};

/// An offer with one m-line of `kind` in `direction` and only the codecs `config` enables.
fn offer_with(config: RtcConfig, kind: MediaKind, direction: Direction) -> String {
    let mut rtc = config.build(std::time::Instant::now());
    let host = Candidate::host("127.0.0.1:40000".parse().expect("addr"), "udp").expect("host");
    rtc.add_local_candidate(host);
    let mut change = rtc.sdp_api();
    change.add_media(kind, direction, None, None, None);
    let (offer, _) = change.apply().expect("offer");
    offer.to_sdp_string()
}

/// `valid` with `count` extra host candidates on its (only) media section.
fn with_candidates(valid: &str, count: usize) -> String {
    let mut sdp = valid.trim_end().to_owned();
    for i in 0..count {
        let port = 1024 + (i % 60_000);
        sdp.push_str(&format!(
            "\r\na=candidate:{i} 1 udp 2130706431 127.0.0.{} {port} typ host",
            1 + i % 250
        ));
    }
    sdp.push_str("\r\n");
    sdp
}

/// `valid` with its media section repeated (same mid twice).
fn with_duplicate_m_line(valid: &str) -> String {
    let start = valid.find("m=").expect("a media section");
    format!("{valid}{}", &valid[start..])
}

/// Offers every hostile shape to one side of the SFU; returns how many were answered.
async fn attack(handle: &SfuHandle, direction: Direction) -> usize {
    let publish = direction == Direction::SendOnly;
    let call = |camera: String, sdp: String| {
        let handle = handle.clone();
        async move {
            if publish {
                handle.publish(&camera, &sdp).await.map(|_| ())
            } else {
                handle.subscribe(&camera, &sdp).await.map(|_| ())
            }
        }
    };
    let valid = Offer::new(direction).sdp;
    let bad_sdp = [
        String::new(),
        "garbage".to_owned(),
        "\0\u{ffff}".repeat(100),
        "v=0\r\n".repeat(2000),
        valid[..valid.len() / 3].to_owned(),
        "x".repeat(70 * 1024),
        with_candidates(&valid, 3000), // thousands of candidates: over the 64 KiB cap
    ];
    for (i, sdp) in bad_sdp.into_iter().enumerate() {
        match call(format!("bad-{i}"), sdp).await {
            Err(SfuError::BadSdp(_)) => {}
            other => panic!("bad offer {i}: {other:?}"),
        }
    }
    let vp9_only = offer_with(
        RtcConfig::new()
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_vp9(true),
        MediaKind::Video,
        direction,
    );
    let audio_only = offer_with(
        RtcConfig::new().clear_codecs().enable_opus(true, false),
        MediaKind::Audio,
        direction,
    );
    let wrong_direction = Offer::new(direction.invert()).sdp;
    for (name, sdp) in [
        ("vp9 only", vp9_only),
        ("audio only", audio_only),
        ("wrong direction", wrong_direction),
    ] {
        match call(format!("wrong-{}", name.len()), sdp).await {
            Err(SfuError::Unsupported(_)) => {}
            other => panic!("{name}: {other:?}"),
        }
    }
    // Shapes a parser may accept or refuse; either way an answer or an error, no panic.
    let mut answered = 0;
    for (i, sdp) in [
        with_duplicate_m_line(&valid),
        with_candidates(&valid, 800), // many candidates, still under the cap
        valid.replace("a=ice-ufrag", "a=ice-ufrag:x\r\na=ice-ufrag"),
        valid.replace("\r\n", "\n"),
    ]
    .into_iter()
    .enumerate()
    {
        match call(format!("odd-{i}"), sdp).await {
            Ok(()) => answered += 1,
            Err(SfuError::BadSdp(_) | SfuError::Unsupported(_)) => {}
            Err(other) => panic!("odd offer {i}: {other}"),
        }
    }
    answered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_offers_to_the_sfu_api_are_refused_while_a_session_streams() {
    let sfu = support::start_sfu().await;
    let viewer = subscriber(&sfu, "cam").await;
    let camera = publisher(&sfu, "cam").await;
    let mut sent = stream(&camera, 0, 5, 2).await;

    attack(&sfu.handle(), Direction::SendOnly).await;
    attack(&sfu.handle(), Direction::RecvOnly).await;

    sent.extend(stream(&camera, 5, 10, 2).await);
    wait_until("the viewer receives every packet", || {
        distinct_received(&viewer) >= sent.len()
    })
    .await;
    assert_eq!(received_in_order(&viewer), sent);
    let metrics = sfu.handle().metrics_text();
    assert!(metrics.contains("sfu_peer_panics_total 0"), "{metrics}");
    drop((camera, viewer));
    sfu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_offers_through_signaling_get_media_error_and_the_client_can_retry() {
    let stack = Stack::start().await;
    let mut camera = stack.join(Role::Camera, "porch").await;
    let mut viewer = stack.join(Role::Viewer, "porch").await;

    for sdp in ["garbage".to_owned(), Offer::new(Direction::RecvOnly).sdp] {
        camera.send(&ClientMessage::Publish(Publish { sdp })).await;
        camera.expect_error(ErrorCode::MediaError).await;
    }
    // Over the 64 KiB message cap: refused before it reaches the SFU.
    let huge = Offer::new(Direction::SendOnly).sdp + &"a=x\r\n".repeat(14_000);
    camera
        .send(&ClientMessage::Publish(Publish { sdp: huge }))
        .await;
    camera.expect_error(ErrorCode::MessageTooLarge).await;

    // The same connection publishes for real.
    let publish = Offer::new(Direction::SendOnly);
    camera
        .send(&ClientMessage::Publish(Publish {
            sdp: publish.sdp.clone(),
        }))
        .await;
    let Some(ServerMessage::PublishAnswer(answer)) = camera.next().await else {
        panic!("expected publish_answer");
    };
    let camera_peer = publish.start(&answer.sdp);

    for sdp in [
        String::new(),
        Offer::new(Direction::SendOnly).sdp,
        with_candidates(&Offer::new(Direction::RecvOnly).sdp, 900),
    ] {
        let subscribe = Subscribe {
            camera_id: "porch".into(),
            sdp,
        };
        viewer.send(&ClientMessage::Subscribe(subscribe)).await;
        match viewer.next().await {
            Some(ServerMessage::Error(err)) => assert_eq!(err.code, ErrorCode::MediaError),
            // Many candidates under the cap may be accepted; the answer is then simply
            // replaced by the real subscription below.
            Some(ServerMessage::SubscribeAnswer(_)) => {}
            other => panic!("expected media_error, got {other:?}"),
        }
    }
    let subscribe = Offer::new(Direction::RecvOnly);
    viewer
        .send(&ClientMessage::Subscribe(Subscribe {
            camera_id: "porch".into(),
            sdp: subscribe.sdp.clone(),
        }))
        .await;
    let Some(ServerMessage::SubscribeAnswer(answer)) = viewer.next().await else {
        panic!("expected subscribe_answer");
    };
    let viewer_peer = subscribe.start(&answer.sdp);
    wait_until("both peers connected", || {
        camera_peer.seen().connected && viewer_peer.seen().connected
    })
    .await;
    let sent = stream(&camera_peer, 0, 10, 2).await;
    wait_until("the viewer receives every packet", || {
        distinct_received(&viewer_peer) >= sent.len()
    })
    .await;
    assert_eq!(received_in_order(&viewer_peer), sent);
    drop((camera_peer, viewer_peer));
    stack.stop().await;
}
