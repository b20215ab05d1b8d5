//! A joining viewer's first connectivity check can reach the only worker, which reads the
//! port itself, before that worker has taken the viewer's new peer from its channel. It
//! must be answered all the same: dropped, it cost the viewer STUN's retransmission
//! 250 ms later (8 % of joins into 1000 viewers in the benchmark).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use sfu::{ForwardTap, ForwardedPayload, Sfu};
use str0m::media::Direction;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_that_arrives_before_its_peer_is_answered_the_first_time() {
    // Once armed, the tap holds the worker in the middle of a fan-out, that is in the
    // middle of its read of the port, until the test lets it go.
    let armed = Arc::new(AtomicBool::new(false));
    let holding = Arc::new(AtomicBool::new(false));
    let (release, released) = mpsc::channel::<()>();
    let released = Mutex::new(released);
    let tap: ForwardTap = {
        let (armed, holding) = (Arc::clone(&armed), Arc::clone(&holding));
        Arc::new(move |_: &ForwardedPayload<'_>| {
            if armed.swap(false, Ordering::AcqRel) {
                holding.store(true, Ordering::Release);
                let _ = released.lock().expect("release").recv();
            }
        })
    };
    let config = sfu::SfuConfig {
        workers: 1,
        ..loopback_config()
    };
    let sfu = Sfu::start_with_tap(config, tap).await.expect("SFU starts");
    let watching = subscriber(&sfu, "early", TestCodec::H264, None).await;
    let mut camera = publisher(&sfu, "early", TestCodec::H264, None).await;
    let mut source = FrameSource::new(TestCodec::H264, 5);

    armed.store(true, Ordering::Release);
    send_frames(&mut camera, &mut source, 1, 1, 3).await;
    wait_until("the worker is held in a fan-out", DEADLINE, || {
        holding.load(Ordering::Acquire)
    })
    .await;
    // Meanwhile the new viewer's peer is queued to the worker and its first check sent
    // to the port, where it waits behind the datagram being handled.
    let pending = Pending::new(TestCodec::H264, Direction::RecvOnly);
    let (_, answer) = sfu
        .handle()
        .subscribe("early", &pending.offer)
        .await
        .expect("subscribe accepted");
    let joining = pending.start(&answer, None);
    wait_until("the first check is sent", DEADLINE, || {
        !joining.observed().stun_requests.is_empty()
    })
    .await;
    release.send(()).expect("the tap is waiting");

    wait_until("the viewer connects", DEADLINE, || {
        joining.observed().connected
    })
    .await;
    {
        let observed = joining.observed();
        let first = observed.stun_requests[0];
        assert!(
            observed.stun_answered.contains(&first),
            "the first check went unanswered ({} sent, {} answered): the viewer waited \
             for a retransmission",
            observed.stun_requests.len(),
            observed.stun_answered.len()
        );
    }
    joining.stop();
    watching.stop();
    camera.stop();
}
