use std::time::Duration;

use sfu::SfuConfig;

use crate::common::*;

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mid_stream_joiner_gets_cached_keyframe_and_no_pli_reaches_the_camera() {
    // Three workers: early viewer on 1, camera on 2, late viewer on 0 — a worker that
    // never saw this camera, so the cache travels as a snapshot between workers.
    let sfu = start_sfu(3).await;
    let early = subscriber(&sfu, "cam", TestCodec::H264, None).await;
    let mut camera = publisher(&sfu, "cam", TestCodec::H264, None).await;
    let mut source = FrameSource::new(TestCodec::H264, 3);
    let packets_per_frame = 3;
    let sent = send_frames(&mut camera, &mut source, 45, 30, packets_per_frame).await;
    wait_until("early viewer has everything", DEADLINE, || {
        early.observed().received.len() >= sent.len()
    })
    .await;

    let late = subscriber(&sfu, "cam", TestCodec::H264, None).await;
    // 45 packets: more than one replay chunk (sfu::fanout), so the order check below also
    // covers the drains between chunks.
    let since_keyframe = &sent[30 * packets_per_frame..];
    wait_until(
        "late viewer has the cached group of pictures",
        DEADLINE,
        || late.observed().received.len() >= since_keyframe.len(),
    )
    .await;
    let replayed = received_payloads(&late);
    assert_eq!(replayed, since_keyframe, "replay starts at the key frame");
    {
        // Arrival order, not only sequence order: nothing reached the late viewer
        // before the cached key frame, and the replay arrived in order.
        let observed = late.observed();
        let in_seq_order: Vec<u64> = observed.received.keys().copied().collect();
        assert_eq!(
            observed.arrival, in_seq_order,
            "the late viewer got packets out of order"
        );
    }
    assert_eq!(
        replayed[0][0] & 0x1f,
        24,
        "first packet is the STAP-A with SPS/PPS"
    );

    // The camera keeps going; the late viewer continues seamlessly.
    let more = send_frames(&mut camera, &mut source, 5, 30, packets_per_frame).await;
    let mut expected = since_keyframe.to_vec();
    expected.extend(more);
    wait_until("late viewer follows live", DEADLINE, || {
        late.observed().received.len() >= expected.len()
    })
    .await;
    assert_eq!(received_payloads(&late), expected);

    let text = sfu.handle().metrics_text();
    assert_eq!(metric(&text, "sfu_keyframe_cache_hits_total"), 1, "{text}");
    assert_eq!(metric(&text, "sfu_plis_sent_upstream_total"), 0, "{text}");
    assert_eq!(
        camera.observed().keyframe_requests,
        0,
        "no PLI reached the camera"
    );
    sfu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_plis_are_relayed_and_coalesced_to_one_per_interval() {
    let config = SfuConfig {
        workers: 2,
        // Long enough that the merged follow-up can never fire during the test: the
        // count below is exact, not timing-dependent.
        pli_min_interval: Duration::from_secs(3600),
        replay_grace: Duration::ZERO,
        ..loopback_config()
    };
    let sfu = start_sfu_with(config).await;
    let viewers = [
        subscriber(&sfu, "cam", TestCodec::Vp8, None).await,
        subscriber(&sfu, "cam", TestCodec::Vp8, None).await,
        subscriber(&sfu, "cam", TestCodec::Vp8, None).await,
    ];
    let mut camera = publisher(&sfu, "cam", TestCodec::Vp8, None).await;
    let mut source = FrameSource::new(TestCodec::Vp8, 4);
    let sent = send_frames(&mut camera, &mut source, 10, 30, 2).await;
    for viewer in &viewers {
        wait_until("media flowing", DEADLINE, || {
            viewer.observed().received.len() >= sent.len()
        })
        .await;
    }
    // Five rounds of a PLI from every viewer; each round is awaited at the SFU so that
    // the viewers' own engines cannot merge them.
    let handle = sfu.handle();
    for round in 1..=5u64 {
        for viewer in &viewers {
            viewer.request_keyframe();
        }
        wait_until("this round's viewer PLIs counted", DEADLINE, || {
            metric(
                &handle.metrics_text(),
                "sfu_keyframe_requests_from_viewers_total",
            ) >= 3 * round
        })
        .await;
    }
    wait_until("a PLI reaches the camera", DEADLINE, || {
        camera.observed().keyframe_requests >= 1
    })
    .await;
    let text = handle.metrics_text();
    assert_eq!(
        metric(&text, "sfu_keyframe_requests_from_viewers_total"),
        15
    );
    assert_eq!(metric(&text, "sfu_plis_sent_upstream_total"), 1, "{text}");
    assert_eq!(camera.observed().keyframe_requests, 1);
    sfu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_reporting_heavy_loss_is_paused_until_the_next_keyframe() {
    let config = SfuConfig {
        workers: 1,
        pause_loss_fraction: 0.05,
        pli_min_interval: Duration::from_millis(100),
        stats_interval: Duration::from_millis(200),
        ..loopback_config()
    };
    let sfu = start_sfu_with(config).await;
    let handle = sfu.handle();
    // 30% of this viewer's RTP is lost before str0m sees it: its receiver reports say so.
    let loss = Loss {
        outgoing: 0.0,
        incoming: 0.3,
        seed: 3,
        from: 10,
        until: u64::MAX,
    };
    let lossy = subscriber(&sfu, "cam", TestCodec::Vp8, Some(loss)).await;
    let mut camera = publisher(&sfu, "cam", TestCodec::Vp8, None).await;
    let mut source = FrameSource::new(TestCodec::Vp8, 8);
    // Delta frames until the SFU pauses the viewer (bounded by the deadline).
    let deadline = std::time::Instant::now() + DEADLINE;
    let mut first = true;
    while metric(&handle.metrics_text(), "sfu_paused_subscribers") == 0 {
        assert!(std::time::Instant::now() < deadline, "viewer never paused");
        let ts = source.timestamp;
        for (payload, marker) in source.frame(first, 2, 900) {
            camera.write(payload, marker, ts);
        }
        first = false;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Pausing asks the camera for a key frame; the camera answers with one.
    wait_until("the SFU asks the camera for a key frame", DEADLINE, || {
        camera.observed().keyframe_requests >= 1
    })
    .await;
    let deadline = std::time::Instant::now() + DEADLINE;
    while metric(&handle.metrics_text(), "sfu_paused_subscribers") != 0 {
        assert!(std::time::Instant::now() < deadline, "viewer never resumed");
        let ts = source.timestamp;
        for (payload, marker) in source.frame(true, 2, 900) {
            camera.write(payload, marker, ts);
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let text = handle.metrics_text();
    assert!(metric(&text, "sfu_plis_sent_upstream_total") >= 1, "{text}");
    drop(lossy);
    sfu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_joining_while_the_camera_streams_starts_with_a_keyframe_in_arrival_order() {
    // Early viewer on worker 1, camera on 2, late viewer on 0 (a snapshot must travel).
    let sfu = start_sfu(3).await;
    let early = subscriber(&sfu, "live", TestCodec::H264, None).await;
    let mut camera = publisher(&sfu, "live", TestCodec::H264, None).await;
    let mut source = FrameSource::new(TestCodec::H264, 21);
    // Frames keep flowing (key frame every 15) while the late viewer connects.
    let streaming = tokio::spawn(async move {
        let sent = send_frames_paced(
            &mut camera,
            &mut source,
            120,
            15,
            3,
            Duration::from_millis(5),
        )
        .await;
        (camera, sent)
    });
    wait_until("the camera is streaming", DEADLINE, || {
        early.observed().received.len() >= 20
    })
    .await;
    let late = subscriber(&sfu, "live", TestCodec::H264, None).await;
    let (camera, sent) = streaming.await.expect("camera task");
    wait_until("early viewer has everything", DEADLINE, || {
        early.observed().received.len() >= sent.len()
    })
    .await;
    let first = wait_first_payload(&late).await;
    let start = sent
        .iter()
        .position(|p| *p == first)
        .expect("the late viewer's first packet is one the camera sent");
    wait_until("late viewer has the rest of the stream", DEADLINE, || {
        late.observed().received.len() >= sent.len() - start
    })
    .await;
    assert_eq!(
        first[0] & 0x1f,
        24,
        "the first packet to arrive is the SPS/PPS"
    );
    assert_eq!(
        received_payloads(&late),
        &sent[start..],
        "from its key frame on, the late viewer has every packet"
    );
    {
        let observed = late.observed();
        let in_seq_order: Vec<u64> = observed.received.keys().copied().collect();
        assert_eq!(observed.arrival, in_seq_order, "packets arrived in order");
    }
    drop(camera);
    sfu.shutdown().await;
}

/// The payload of the first packet that reached `client`.
async fn wait_first_payload(client: &Client) -> Vec<u8> {
    wait_until("a first packet", DEADLINE, || {
        !client.observed().arrival.is_empty()
    })
    .await;
    let observed = client.observed();
    observed
        .arrival
        .first()
        .and_then(|seq| observed.received.get(seq))
        .map(|r| r.payload.clone())
        .expect("first arrival is recorded")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_whose_worker_falls_behind_is_paused_until_an_on_time_keyframe() {
    let config = SfuConfig {
        workers: 1,
        max_forward_delay: Duration::from_millis(400),
        ..loopback_config()
    };
    let sfu = start_sfu_with(config).await;
    let handle = sfu.handle();
    let viewer = subscriber(&sfu, "slow", TestCodec::Vp8, None).await;
    let mut camera = publisher(&sfu, "slow", TestCodec::Vp8, None).await;
    let mut source = FrameSource::new(TestCodec::Vp8, 5);
    let mut sent = send_frames(&mut camera, &mut source, 5, 1000, 2).await;
    wait_until("media flowing", DEADLINE, || {
        viewer.observed().received.len() >= sent.len()
    })
    .await;
    // The worker stalls; delta frames sent meanwhile wait far longer than 400 ms.
    handle.inject_worker_stall(viewer.session, Duration::from_secs(2));
    let late = send_frames_paced(
        &mut camera,
        &mut source,
        5,
        1000, // no key frame among them
        2,
        Duration::from_millis(20),
    )
    .await;
    wait_until(
        "the late packets are dropped and the viewer paused",
        DEADLINE,
        || {
            let text = handle.metrics_text();
            metric(&text, "sfu_paused_subscribers") == 1
                && text.contains("sfu_subscriber_pauses_total{reason=\"fell_behind\"} 1")
        },
    )
    .await;
    // Pausing asked the camera for a key frame; it answers with one, on time.
    wait_until("a key-frame request reaches the camera", DEADLINE, || {
        camera.observed().keyframe_requests >= 1
    })
    .await;
    let resumed = send_frames(&mut camera, &mut source, 3, 3, 2).await;
    wait_until("the viewer resumes", DEADLINE, || {
        metric(&handle.metrics_text(), "sfu_paused_subscribers") == 0
    })
    .await;
    sent.extend(resumed);
    wait_until("the viewer has the resumed frames", DEADLINE, || {
        viewer.observed().received.len() >= sent.len()
    })
    .await;
    let got = received_payloads(&viewer);
    assert_eq!(
        got, sent,
        "late delta frames skipped, resumed at the key frame"
    );
    assert!(
        late.iter().all(|p| !got.contains(p)),
        "no late packet forwarded"
    );
    let seqs: Vec<u64> = viewer.observed().received.keys().copied().collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "no sequence gap for the viewer to NACK: {seqs:?}"
    );
    let text = handle.metrics_text();
    assert!(
        text.contains("sfu_dropped_packets_total{reason=\"fell_behind\"} 10"),
        "{text}"
    );
    sfu.shutdown().await;
}

/// Packets are forwarded a frame at a time: they wait for the frame's marker. A viewer
/// that joins while a frame is held gets its first packets from the cache replay, and
/// then only the rest of the frame: each packet once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_frame_waits_for_its_marker_and_a_viewer_joining_meanwhile_gets_each_packet_once() {
    let config = SfuConfig {
        workers: 1,
        // Long enough that only the marker releases the frame in this test.
        frame_hold: Duration::from_secs(10),
        max_forward_delay: Duration::from_secs(20),
        ..loopback_config()
    };
    let sfu = start_sfu_with(config).await;
    let early = subscriber(&sfu, "cam", TestCodec::Vp8, None).await;
    let mut camera = publisher(&sfu, "cam", TestCodec::Vp8, None).await;
    let mut source = FrameSource::new(TestCodec::Vp8, 5);
    let sent = send_frames(&mut camera, &mut source, 3, 3, 3).await;
    wait_until("the early viewer has the first frames", DEADLINE, || {
        early.observed().received.len() >= sent.len()
    })
    .await;
    // The first two packets of a frame, without its last one.
    let timestamp = source.timestamp;
    let frame = source.frame(false, 3, 900);
    for (payload, marker) in &frame[..2] {
        camera.write(payload.clone(), *marker, timestamp);
    }
    let handle = sfu.handle();
    wait_until("the SFU has the frame's first packets", DEADLINE, || {
        metric(&handle.metrics_text(), "sfu_packets_in_total") >= sent.len() as u64 + 2
    })
    .await;
    let late = subscriber(&sfu, "cam", TestCodec::Vp8, None).await;
    wait_until("the replay reaches the late viewer", DEADLINE, || {
        late.observed().received.len() >= sent.len() + 2
    })
    .await;
    assert_eq!(
        early.observed().received.len(),
        sent.len(),
        "the frame's first packets wait for its last one"
    );
    let (last, marker) = &frame[2];
    camera.write(last.clone(), *marker, timestamp);
    let all = sent.len() + 3;
    wait_until("both viewers have the whole frame", DEADLINE, || {
        early.observed().received.len() >= all && late.observed().received.len() >= all
    })
    .await;
    let mut expected = sent.clone();
    expected.extend(frame.iter().map(|(payload, _)| payload.clone()));
    assert_eq!(received_payloads(&early), expected);
    assert_eq!(received_payloads(&late), expected);
    let text = handle.metrics_text();
    assert_eq!(
        metric(&text, "sfu_packets_out_total"),
        2 * all as u64,
        "a packet went to a viewer twice: {text}"
    );
    sfu.shutdown().await;
}
