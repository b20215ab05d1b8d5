//! Load generator: many cheap WebRTC subscribers and an encrypted 2 Mbit/s publisher, against Sealcam or Janus.
