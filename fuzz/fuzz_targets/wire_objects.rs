//! Every `wire` object a camera or viewer reads from a peer or from disk: public keys,
//! identities, the membership list and signed owner commands.
#![no_main]

use e2ee::identity::{CameraIdentity, CameraPublic, ViewerDevice, ViewerPublic};
use e2ee::membership::Membership;
use libfuzzer_sys::fuzz_target;
use sealcam_fuzz::{fixtures, CAMERA_ID, NOW};

fuzz_target!(|data: &[u8]| {
    if let Ok(camera) = CameraPublic::from_bytes(data) {
        assert_eq!(CameraPublic::from_bytes(&camera.to_bytes()), Ok(camera));
    }
    if let Ok(viewer) = ViewerPublic::from_bytes(data) {
        assert_eq!(ViewerPublic::from_bytes(&viewer.to_bytes()), Ok(viewer));
    }
    if let Ok(list) = Membership::from_bytes(data) {
        assert_eq!(Membership::from_bytes(&list.to_bytes()), Ok(list));
    }
    let _ = CameraIdentity::from_bytes(data);
    let _ = ViewerDevice::from_bytes(data);

    // An owner command against the list the fixture owner was paired into.
    let fx = fixtures();
    let mut list = Membership::for_camera(CAMERA_ID).expect("fixture id is valid");
    list.enroll_paired(fx.viewer.public(), NOW);
    let before = list.version();
    match list.apply_signed(data, NOW) {
        Ok(_) => assert!(
            list.version() > before,
            "an applied command bumps the version"
        ),
        Err(_) => assert_eq!(list.version(), before, "a refused command changes nothing"),
    }
});
